# SPDX-License-Identifier: Apache-2.0
"""Idempotent HTTP: the ``Idempotency-Key`` request header (IETF draft-ietf-httpapi-
idempotency-key-header, https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/).

The first response below 500 for a key is stored and replayed to every retry with
``Idempotent-Replayed: true`` (Stripe's header name); the same key sent with another method,
path, query or body is a 422, and a retry while the first is still running a 409, as the draft
says. A 5xx, a response that asks for a retry (408, 425, 429) or an exception releases the key,
so the client's retry runs again. Keys are scoped to the function and to the caller's
``Authorization`` (a SigV4 signature by its access key) / ``X-Api-Key`` / ``Cookie`` and the user
an identity proxy names (IAP, Cloudflare Access, App Service authentication), and on Azure to its
function key (``x-functions-key`` or ``?code=``), so one client's key never replays another
client's response (a retry whose credentials or cookies changed runs as a new request).
Requests without the header run normally (with ``idempotent="required"`` they get a 400, as
the draft's section 2.7 says of an operation documented to require the header), and so do the
safe methods (GET, HEAD, OPTIONS, TRACE) with or without it: they are idempotent already (RFC
9110 section 9.2.1), the draft is for the methods that are not, and a read must see the current
state. A JSON body is compared as its parsed value (keys sorted, no spacing), as Powertools
hashes the JSON payload (https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/):
a client that serialises its request anew on a retry still gets the replay.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from portable_fn.errors import BadRequest, UnprocessableEntity
from portable_fn.http import Response, to_response
from portable_fn.idempotency._base import IdempotencyConflict
from portable_fn.idempotency.guard import (
    abandon,
    acquire_async,
    begin,
    digest,
    finish,
    lease,
    off_loop,
)

if TYPE_CHECKING:
    from portable_fn.context import Context
    from portable_fn.http import Request
    from portable_fn.idempotency._base import Record, Store

__all__ = ["guard_http"]

Call = Callable[[Any, "Context"], Any]
HEADER = "idempotency-key"
# RFC 9110 section 9.2.1. Stripe: a key on a GET "has no effect"; a client library that sends one
# on every request would otherwise read the first response for a day.
SAFE = frozenset(("GET", "HEAD", "OPTIONS", "TRACE"))
# Refusals that tell the client to send the request again (RFC 9110 section 15.5.9, RFC 8470
# section 5.2, RFC 6585 section 4): stored, the retry would get the refusal for a day.
RETRY_LATER = frozenset((408, 425, 429))
# The store, the key, the token, and the request's fingerprints: the one to store first, then
# the earlier version's (bytes) for a JSON body, which a record written before still holds.
Claim = tuple["Store", str, str, tuple[str, ...]]


def fingerprint(request: Request) -> tuple[str, ...]:
    """What makes two requests "the same request" for one key: the fingerprint to store, then
    any older form a stored record may hold (a retry across an upgrade still replays)."""
    # JSON, not joined text: no name or value can pass for a separator ("a=1&b=2" is not
    # the one parameter a = "1&b=2"), and it escapes the digest's own separator. Sorted by
    # name only (a stable sort): "b=2&a=1" is "a=1&b=2", but a repeated name keeps the order
    # of its values, which ``getall`` hands the handler ("sort=name&sort=date" is another
    # request than "sort=date&sort=name").
    query = sorted(request.query.items(), key=lambda item: item[0])
    head = json.dumps([request.method, request.path, query])
    as_bytes = digest(head, request.body.decode("latin-1"))
    canonical = _canonical_json(request)
    if canonical is None:
        return (as_bytes,)
    # A third part: a canonical form never equals a byte fingerprint of the same text.
    return digest(head, canonical, "json"), as_bytes


def _canonical_json(request: Request) -> str | None:
    """The JSON body with sorted keys and no spacing; None for a body of another type or one
    that does not parse (compared as bytes)."""
    from portable_fn._event_data import is_json_content_type

    if not request.body or not is_json_content_type(request.content_type):
        return None
    try:
        value = request.json()
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (BadRequest, ValueError, RecursionError):  # not JSON; nested deeper than dumps goes
        return None


def _encode(response: Response, print_: str) -> bytes:
    return json.dumps(
        {
            "fingerprint": print_,
            "status": response.status,
            "headers": response.headers.items(),
            "body": base64.b64encode(response.body).decode("ascii"),
        }
    ).encode("utf-8")


def _replay(stored: bytes, prints: tuple[str, ...]) -> Response:
    saved = json.loads(stored)
    if saved["fingerprint"] not in prints:
        raise UnprocessableEntity(
            "this Idempotency-Key was already used for a different request",
            errors=[
                {
                    "loc": ["header", "Idempotency-Key"],
                    "msg": "reused with another method, path, query or body",
                    "type": "idempotency_key_reused",
                }
            ],
        )
    headers = [(k, v) for k, v in saved["headers"]] + [("idempotent-replayed", "true")]
    return Response(status=saved["status"], headers=headers, body=base64.b64decode(saved["body"]))


# The user an identity proxy in front of the function vouches for, in its own header: Google's
# IAP (https://cloud.google.com/iap/docs/identity-howto), Cloudflare Access
# (https://developers.cloudflare.com/cloudflare-one/identity/authorization-cookie/), App
# Service authentication on Azure (https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities).
# Each is the same on every request of that user, so a retry still finds its key.
_USERS = (
    "x-goog-authenticated-user-id",
    "cf-access-authenticated-user-email",
    "x-ms-client-principal-id",
)
_SIGV4 = "AWS4-HMAC-SHA256 "
# Azure Functions' access key, which the host checks before an auth level "function" or "admin"
# function runs, sent in the header or the query parameter: one key per client is how callers are
# told apart there.
# https://learn.microsoft.com/azure/azure-functions/functions-bindings-http-webhook-trigger#api-key-authorization
_AZURE_KEY_HEADER = "x-functions-key"
_AZURE_KEY_QUERY = "code"


def _credential(authorization: str, native: Any) -> str:
    """Who ``Authorization`` names, the same on each retry: the header itself, except a SigV4
    signature (a function URL or API Gateway with IAM auth), which a client computes anew for
    every retry from its time (and the day in its credential scope with it, past midnight);
    its caller is the access key that signed (``Credential=AKID/20261206/...``).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-auth-header.html
    Only when AWS verified that signature with that key: a key id is no secret, and where
    nothing checks the signature (auth NONE, another provider, dev) anyone could name another
    caller's key with a made-up one; such a header stays whole (each retry runs again)."""
    if not authorization.startswith(_SIGV4):
        return authorization
    for part in authorization[len(_SIGV4) :].split(","):
        name, _, value = part.strip().partition("=")
        if name == "Credential" and value:
            key = value.partition("/")[0]
            return f"{_SIGV4}{key}" if key == _verified_key(native) else authorization
    return authorization


def _verified_key(native: Any) -> str | None:
    """The access key whose SigV4 signature AWS checked before invoking: a function URL's or
    HTTP API's ``requestContext.authorizer.iam.accessKey``
    (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads), a REST
    API's ``requestContext.identity.accessKey``
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html);
    None for any other event (the platform fills ``requestContext``, never the client)."""
    context = native.get("requestContext") if type(native) is dict else None
    if type(context) is not dict:
        return None
    authorizer = context.get("authorizer")
    iam = authorizer.get("iam") if type(authorizer) is dict else None
    identity = context.get("identity")
    for holder in (iam, identity):
        key = holder.get("accessKey") if type(holder) is dict else None
        if type(key) is str and key:
            return key
    return None


def _function_key(request: Request, ctx: Context) -> str:
    """The Azure Functions access key the caller sent (``x-functions-key`` and ``code``, both as
    sent: a caller that moves its key from one to the other has changed its credentials), "" for
    none. Only on Azure: elsewhere ``code`` is an ordinary parameter (an OAuth redirect's), one
    the fingerprint covers, so the same key with another ``code`` stays a 422 there. The
    fingerprint keeps ``code`` on Azure too: a retry of one caller sends the same key, so it
    still replays."""
    if ctx.provider != "azure":
        return ""
    codes = request.query.getall(_AZURE_KEY_QUERY)
    header = request.headers.get(_AZURE_KEY_HEADER)
    if not codes and not header:
        return ""
    return json.dumps([header or "", codes])


def _prepare(request: Request, ctx: Context, required: bool) -> Claim | None:
    """None: no key, run normally; else the store, key, token and fingerprints to claim.
    ``BadRequest`` when the key is ``required`` and missing."""
    if request.method in SAFE:
        return None
    header = request.headers.get(HEADER)
    if not header:
        if required:
            _missing()
        return None
    # Scoped to the caller's credentials: two clients that pick the same key never share (or
    # see) each other's response.
    headers = request.headers
    # A browser session is its cookies: without them every cookie-authenticated caller shared
    # one scope and was replayed another's response.
    caller = "\x1f".join(
        (_credential(headers.get("authorization") or "", ctx.native),
         headers.get("x-api-key") or "", "; ".join(headers.getall("cookie")),
         *(headers.get(name) or "" for name in _USERS))
    )
    # Appended only when sent: the scope of a request without one stays what it was, so a
    # retry across an upgrade still finds its key.
    function_key = _function_key(request, ctx)
    if function_key:
        caller = f"{caller}\x1f{function_key}"
    store, key, token = begin(ctx, f"{header}\x1f{caller}")
    return store, key, token, fingerprint(request)


def _missing() -> None:
    """draft-ietf-httpapi-idempotency-key-header section 2.7: "If the Idempotency-Key request
    header is missing for a documented idempotent operation requiring this header, the resource
    server SHOULD reply with an HTTP 400"; Powertools' ``raise_on_no_idempotency_key``."""
    raise BadRequest(
        "this operation requires an Idempotency-Key header (a unique value per operation, "
        "sent again unchanged with each retry)"
    )


def _claimed(claim: Claim, found: Record | None, now: float) -> Claim | Response:
    """The claim to run under, or the stored response to replay; raises while in progress."""
    if found is None:
        return claim
    if found.status == "completed" and found.result is not None:
        return _replay(found.result, claim[3])
    raise IdempotencyConflict(
        "a request with this Idempotency-Key is still being processed",
        retry_after=max(0.0, found.expires_at - now),
    )


def _claim(request: Request, ctx: Context, required: bool) -> Claim | Response | None:
    """None: no key, run normally; a Response: replay it; else the claim to run under."""
    claim = _prepare(request, ctx, required)
    if claim is None:
        return None
    store, key, token, _ = claim
    now = time.time()
    return _claimed(claim, store.acquire(key, token, now + lease(store, ctx), now), now)


async def _claim_async(
    request: Request, ctx: Context, required: bool
) -> Claim | Response | None:
    claim = _prepare(request, ctx, required)
    if claim is None:
        return None
    store, key, token, _ = claim
    now = time.time()
    found = await acquire_async(store, ctx, key, token, now + lease(store, ctx), now)
    return _claimed(claim, found, now)


def _final(response: Response) -> bool:
    """Whether ``response`` is the key's outcome to replay; else the key is given back."""
    return response.status < 500 and response.status not in RETRY_LATER


def _settle(claim: Claim, ctx: Context, result: Any) -> Response:
    store, key, token, prints = claim
    try:
        response = to_response(result)
    except BaseException:  # a return value that is no response fails as a raise does
        abandon(store, ctx, key, token)
        raise
    if _final(response):
        finish(store, ctx, key, token, _encode(response, prints[0]))
    else:
        abandon(store, ctx, key, token)
    return response


async def _settle_async(claim: Claim, ctx: Context, result: Any) -> Response:
    store, key, token, prints = claim
    try:
        response = to_response(result)
    except BaseException:
        await off_loop(store, abandon, store, ctx, key, token)
        raise
    if _final(response):
        await off_loop(store, finish, store, ctx, key, token, _encode(response, prints[0]))
    else:
        await off_loop(store, abandon, store, ctx, key, token)
    return response


async def _settle_later(claim: Claim, ctx: Context, awaitable: Any) -> Response:
    try:
        result = await awaitable
    except BaseException:
        await off_loop(claim[0], abandon, claim[0], ctx, claim[1], claim[2])
        raise
    return await _settle_async(claim, ctx, result)


def guard_http(call: Call, *, is_async: bool, required: bool = False) -> Call:
    """Replay stored responses for requests that carry an ``Idempotency-Key``; ``required``:
    refuse an unsafe method's request without one (400)."""
    if is_async:

        async def guarded_async(request: Request, ctx: Context) -> Any:
            claim = await _claim_async(request, ctx, required)
            if claim is None:
                return await call(request, ctx)
            if isinstance(claim, Response):
                return claim
            try:
                result = await call(request, ctx)
            except BaseException:
                await off_loop(claim[0], abandon, claim[0], ctx, claim[1], claim[2])
                raise
            return await _settle_async(claim, ctx, result)

        return guarded_async

    def guarded(request: Request, ctx: Context) -> Any:
        claim = _claim(request, ctx, required)
        if claim is None:
            return call(request, ctx)
        if isinstance(claim, Response):
            return claim
        try:
            result = call(request, ctx)
        except BaseException:
            abandon(claim[0], ctx, claim[1], claim[2])
            raise
        if hasattr(type(result), "__await__"):
            # A plain function that returned a coroutine (dispatch awaits it): its response
            # is what the coroutine returns.
            return _settle_later(claim, ctx, result)
        return _settle(claim, ctx, result)

    return guarded
