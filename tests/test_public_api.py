"""The curated public surface: what ``import portable_fn as pf`` offers, snapshotted."""

from __future__ import annotations

import portable_fn

EXPECTED = {
    "App", "BadRequest", "CORS", "CloudEvent", "ConfigurationError", "Context", "Function",
    "HTTPError", "Headers", "NonRetryable", "NotFound", "PortableFnError", "Request",
    "Response", "Retry", "SecretNotSet", "UploadedFile", "emit", "logger", "metric", "publish",
    "send",
}


def test_exported_names() -> None:
    import types

    # dir(), not vars(): names loaded on first use (``metric``) are listed before they load.
    public = {
        name for name in dir(portable_fn)
        if not name.startswith("_")
        and not isinstance(getattr(portable_fn, name), types.ModuleType)
    }
    assert public == EXPECTED
    assert portable_fn.__version__


def test_error_tree_is_builtin_compatible() -> None:
    from portable_fn import errors

    assert issubclass(errors.ConfigurationError, ValueError)
    assert issubclass(errors.InvalidCloudEventError, ValueError)
    assert issubclass(errors.EventDecodeError, ValueError)
    assert issubclass(errors.FunctionNotFoundError, KeyError)
    assert issubclass(errors.NotFound, LookupError)
    assert issubclass(errors.SecretNotSet, LookupError)
    for name in ("ConfigurationError", "InvalidCloudEventError", "EventDecodeError",
                 "HTTPError", "FunctionNotFoundError", "PublishError", "NonRetryable",
                 "HandlerCancelled", "SecretNotSet"):
        assert issubclass(getattr(errors, name), errors.PortableFnError)
