# SPDX-License-Identifier: Apache-2.0
"""portable-fn: write serverless functions once; run them on every cloud and locally."""

import typing

from portable_fn._publish import emit as emit
from portable_fn._publish import publish as publish
from portable_fn._publish import send as send
from portable_fn.app import App as App
from portable_fn.app import Function as Function
from portable_fn.context import Context as Context
from portable_fn.cors import CORS as CORS
from portable_fn.errors import BadRequest as BadRequest
from portable_fn.errors import ConfigurationError as ConfigurationError
from portable_fn.errors import HTTPError as HTTPError
from portable_fn.errors import NonRetryable as NonRetryable
from portable_fn.errors import NotFound as NotFound
from portable_fn.errors import PortableFnError as PortableFnError
from portable_fn.errors import SecretNotSet as SecretNotSet
from portable_fn.events import CloudEvent as CloudEvent
from portable_fn.http import Headers as Headers
from portable_fn.http import Request as Request
from portable_fn.http import Response as Response
from portable_fn.http import UploadedFile as UploadedFile
from portable_fn.log import logger as logger
from portable_fn.triggers import Retry as Retry

if typing.TYPE_CHECKING:
    from portable_fn.metrics import metric as metric

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # pf.metric's module is loaded on first use (PEP 562): ``import portable_fn`` is every cold
    # start (tests/test_import_cost.py), and most functions never call it.
    if name == "metric":
        from portable_fn.metrics import metric

        globals()[name] = metric  # later reads find it without this call
        return metric
    raise AttributeError(f"module 'portable_fn' has no attribute {name!r}")


def __dir__() -> set[str]:
    return {*globals(), "metric"}
