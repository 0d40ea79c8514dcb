# SPDX-License-Identifier: Apache-2.0
"""Bytecode instead of source for the framework in ``app.zip`` (opt-in).

Lambda's task root is read-only, so CPython cannot cache what it compiles: every cold start
compiles every module it imports (examples/shop: ~37 ms of imports against ~10 ms with bytecode,
on the development machine). The zip can carry the bytecode instead, at two costs, which is why
it is opt-in (``PORTABLE_FN_AWS_BYTECODE=1`` or ``AwsAdapter(bytecode=True)``):

- bytecode belongs to one Python minor version, so it is compiled by an interpreter of the
  function's runtime (``python3.12`` -> a Python 3.12 found here); without one the sources ship
  and a finding says so;
- bytecode compresses worse than source: the zip grows by about two thirds (the 100 kB budget
  is for the default, sources).

The framework's modules (``portable_fn``, ``portable_fn_aws``) become sourceless ``.pyc`` files
in the legacy layout (``app.pyc`` beside where ``app.py`` was), which CPython's
``SourcelessFileLoader`` imports directly; "unchecked hash" pycs (PEP 552) are never compared
with a source. The app's own code stays source, so its tracebacks keep their lines.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from portable_fn.adapter import Finding

__all__ = ["FRAMEWORK", "compile_framework", "interpreter"]

FRAMEWORK = ("portable_fn/", "portable_fn_aws/")

# Runs in the target interpreter: compile each file to a legacy-layout, unchecked-hash pyc whose
# code objects name the file as the zip does (what tracebacks print). Optimisation level 2 drops
# docstrings (a sixth of the bytecode; nothing reads them at run time) and the one assert, a
# type-checker hint.
_COMPILE = """
import py_compile, sys
from pathlib import Path
root = Path(sys.argv[1])
for path in sorted(root.rglob("*.py")):
    name = path.relative_to(root).as_posix()
    py_compile.compile(str(path), cfile=str(path.with_suffix(".pyc")), dfile=name,
                       doraise=True, optimize=2,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
"""


def interpreter(runtime: str) -> str | None:
    """A Python of the Lambda runtime's version (``python3.12`` -> 3.12): this one, one on PATH
    (pyenv shims answer for versions that are not active, so each is asked), or uv's."""
    version = runtime.removeprefix("python")
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    candidates = [shutil.which(f"python{version}")]
    uv = shutil.which("uv")
    if uv is not None:
        found = subprocess.run(
            [uv, "python", "find", version], capture_output=True, text=True, check=False
        )
        candidates.append(found.stdout.strip() if found.returncode == 0 else None)
    for candidate in candidates:
        if candidate and _version_of(candidate) == version:
            return candidate
    return None


def _version_of(executable: str) -> str | None:
    try:
        answer = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return answer.stdout.strip() if answer.returncode == 0 else None


def compile_framework(entries: dict[str, bytes], runtime: str) -> list[Finding]:
    """Replace the framework's ``.py`` entries by bytecode for ``runtime``, in place."""
    python = interpreter(runtime)
    if python is None:
        return [
            Finding(
                None,
                "warning",
                f"bytecode was asked for, but no Python {runtime.removeprefix('python')} was "
                "found to compile it with (bytecode is per minor version): the zip ships "
                "sources, which Lambda compiles on every cold start",
            )
        ]
    sources = {
        name: data
        for name, data in entries.items()
        if name.startswith(FRAMEWORK) and name.endswith(".py")
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, data in sources.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        subprocess.run([python, "-c", _COMPILE, str(root)], check=True, capture_output=True)
        for name in sources:
            del entries[name]
            compiled = name[: -len(".py")] + ".pyc"
            entries[compiled] = (root / compiled).read_bytes()
    return []
