# SPDX-License-Identifier: Apache-2.0
"""The one error tree of portable-fn.

Every error the SDK raises is a ``PortableFnError``; each leaf also subclasses the builtin a
caller would naturally catch, so ``except ValueError`` keeps working (the cloudevents 2.x model)::

    PortableFnError
     ├── ConfigurationError (ValueError)       bad decoration or packaging input; .function
     ├── InvalidCloudEventError (ValueError)   an event breaks the CloudEvents spec; .attribute
     ├── EventDecodeError (ValueError)         unreadable native payload; .provider .trigger .field
     │                                         .detail
     ├── HTTPError                             becomes an HTTP response; .status .message
     │    ├── BadRequest (ValueError)          400
     │    ├── NotFound (LookupError)           404
     │    ├── MethodNotAllowed                 405; .allowed
     │    └── UnprocessableEntity (ValueError) 422; .errors
     ├── FunctionNotFoundError (KeyError)      no function of that name; .function
     ├── PublishError                          nothing to publish through, or the provider refused
     └── NonRetryable                          raise in a handler: dead-letter now, keep the retries
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


class PortableFnError(Exception):
    """Root of every error raised by portable-fn."""


class ConfigurationError(PortableFnError, ValueError):
    """An app is declared in a way no provider can run; raised at decoration or packaging time."""

    def __init__(self, message: str, *, function: str | None = None) -> None:
        self.function = function
        super().__init__(f"{function}: {message}" if function else message)


class InvalidCloudEventError(PortableFnError, ValueError):
    """An event breaks the CloudEvents 1.0 spec; ``attribute`` names the offending attribute."""

    def __init__(self, attribute: str, message: str) -> None:
        self.attribute = attribute
        super().__init__(f"CloudEvent attribute {attribute!r}: {message}")


class EventDecodeError(PortableFnError, ValueError):
    """A native provider payload cannot be turned into a portable value.

    Fails only the message it concerns; the adapter reports that one message as failed.
    """

    def __init__(
        self, message: str, *, provider: str, trigger: str, field: str | None = None
    ) -> None:
        self.provider = provider
        self.trigger = trigger
        self.field = field
        self.detail = message  # the message without where it was raised (it names that)
        where = f"{provider} {trigger}" + (f" field {field!r}" if field else "")
        super().__init__(f"{where}: {message}")


class HTTPError(PortableFnError):
    """An error with an HTTP status; the dispatcher turns it into a JSON error response.

    Handlers may raise it (or a leaf) to answer with that status.
    """

    status: int = 500
    retry_after: float | None = None  # seconds; sent as Retry-After (RFC 9110 section 10.2.3)

    def __init__(self, message: str, *, status: int | None = None) -> None:
        if status is not None:
            if not isinstance(status, int) or not 100 <= status <= 599:
                # RFC 9110 section 15: no response has it. Refused here, in the handler, so it
                # is the handler's 500 rather than a failure to build the error's response.
                raise ValueError(f"HTTP status must be 100-599, got {status!r}")
            self.status = int(status)
        self.message = message
        super().__init__(message)

    def body(self) -> dict[str, Any]:
        return {"error": {"status": self.status, "message": self.message}}

    def headers(self) -> dict[str, str]:
        """Headers the response must carry (``Allow`` on a 405, ``Retry-After``...)."""
        if self.retry_after is None:
            return {}
        return {"retry-after": str(max(0, int(-(-self.retry_after // 1))))}


class BadRequest(HTTPError, ValueError):
    status = 400


class NotFound(HTTPError, LookupError):
    status = 404


class MethodNotAllowed(HTTPError):
    status = 405

    def __init__(self, message: str, *, allowed: Iterable[str]) -> None:
        methods = set(allowed)
        if "GET" in methods:  # every GET route answers HEAD too (RFC 9110 section 9.3.2)
            methods.add("HEAD")
        self.allowed: tuple[str, ...] = tuple(sorted(methods))
        super().__init__(message)

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "allow": ", ".join(self.allowed)}


class UnprocessableEntity(HTTPError, ValueError):
    status = 422

    def __init__(self, message: str, *, errors: Sequence[Mapping[str, Any]] = ()) -> None:
        self.errors = [dict(e) for e in errors]
        super().__init__(message)

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["error"]["errors"] = self.errors
        return body


class FunctionNotFoundError(PortableFnError, KeyError):
    """No function of that name is registered on the app."""

    def __init__(self, function: str) -> None:
        self.function = function
        super().__init__(function)

    def __str__(self) -> str:
        return f"no function named {self.function!r}"


class SecretNotSet(PortableFnError, LookupError):
    """A declared secret (``App(secrets=...)``) has no value in this environment."""

    def __init__(self, name: str, hint: str) -> None:
        self.name = name
        self.hint = hint
        super().__init__(name, hint)

    def __str__(self) -> str:
        return f"secret {self.name} is not set: {self.hint}"


class PublishError(PortableFnError):
    """An event could not be published: no publisher installed, or the provider refused it."""


class HandlerCancelled(PortableFnError):
    """An async handler ended with ``asyncio.CancelledError`` that no one cancelling the
    dispatch raised (it awaited a task something else cancelled, say): a failure of its message
    like any exception, retried, not a ``BaseException`` that would fail the whole batch or
    leave the delivery unanswered."""


class NonRetryable(PortableFnError):
    """Raise from an event handler to send the message to its dead-letter queue at once.

    Retrying cannot help (the payload is invalid, the referenced thing is gone), so the message
    keeps its remaining retries unspent; ``reason`` travels with the dead letter.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
