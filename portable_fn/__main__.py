# SPDX-License-Identifier: Apache-2.0
"""``python -m portable_fn``: the CLI, for environments where the console script is not on PATH."""

from portable_fn.cli import main

raise SystemExit(main())
