"""The curated public surface: what ``import portable_fn as pf`` offers, snapshotted."""

from __future__ import annotations

import portable_fn

EXPECTED = {
    "App", "BadRequest", "CORS", "CloudEvent", "ConfigurationError", "Context", "Function",
    "HTTPError", "Headers", "NonRetryable", "NotFound", "PortableFnError", "Request",
    "Response", "Retry", "UploadedFile", "emit", "logger", "publish", "send",
}


def test_exported_names() -> None:
    import types

    public = {
        name for name, value in vars(portable_fn).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
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
    for name in ("ConfigurationError", "InvalidCloudEventError", "EventDecodeError",
                 "HTTPError", "FunctionNotFoundError", "PublishError", "NonRetryable",
                 "HandlerCancelled"):
        assert issubclass(getattr(errors, name), errors.PortableFnError)
