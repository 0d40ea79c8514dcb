"""Done-means 1 (crash) and the HTTP Idempotency-Key, through the real ``portable-fn dev``.

Crash: the handler is SIGKILLed (with its runtime) while it holds the key; after the restart
the redelivery finds the key in progress (a 409, retried with backoff) until the lease ends,
then runs: once. HTTP: replay, a concurrent retry (409), a reused key (422), and a key freed by
a failed (422) attempt. Real processes, real stores; nothing is mocked.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from portable_fn.events import CloudEvent, to_json, to_structured

from ..local.devserver import DevServer
from .apps.reliable import RECOVERING
from .conftest import effect_lines

LEASE = 1.5


def wait_for_crash_point(marker: Path) -> None:
    """Until the handler has written ``marker`` (it is about to hang or crash there)."""
    deadline = time.monotonic() + 40  # generous: a loaded CI machine is slow, a hang is not
    while not marker.exists():
        assert time.monotonic() < deadline, "the handler never reached its crash point"
        time.sleep(0.01)


def test_a_crashed_attempt_is_retried_after_its_lease(
    store_url: str, dev: Callable[..., DevServer], effects: dict[str, str], tmp_path: Path
) -> None:
    sep = "&" if "?" in store_url else "?"
    env = {**effects, "PORTABLE_FN_IDEMPOTENCY": f"{store_url}{sep}lease={LEASE}"}
    state = tmp_path / "crash-state"
    first = dev("--time-scale", "1", env=env, state=state)
    event = CloudEvent.create(
        type="test.once", source=f"/tests/{uuid.uuid4().hex}", data={"crash": True, "sleep": 0}
    )
    headers, body = to_structured(event)
    sent_at = time.time()  # the handler takes the key after this: its lease ends after
    assert first.request("POST", "/_pf/events", body, headers)[0] == 202
    wait_for_crash_point(Path(effects["PF_MARKERS"]) / event.id)
    first.kill()

    second = dev("--time-scale", "1", env=env, state=state)
    done = second.wait_for(
        lambda r: r.get("event") == "invocation" and r.get("outcome") == "ok", timeout=60
    )
    runs = [row for row in effect_lines(effects, "once") if row[2] == event.id]
    assert len(runs) == 1
    # The killed attempt counted; the looks while its lease ran did not: this is attempt 2.
    assert int(runs[0][4]) == done["attempt"] == 2
    # Every redelivery before the successful one found the key held and was told to wait
    # (a 409), and none of them ran the handler: the crashed attempt's lease had to end first.
    outcomes = second.invocations("once")
    looks = [r for r in outcomes if r["outcome"] != "ok"]
    assert all(
        r["outcome"] == "retry" and "IdempotencyConflict" in r["error"] and r["attempt"] == 2
        for r in looks
    ), looks
    if outcomes[0]["ts"] < sent_at + LEASE:
        # The first redelivery was answered before the lease could have ended: it had to wait.
        assert looks and outcomes[0] is looks[0], second.lines[-20:]
    # It ran once the lease had ended: never earlier, however loaded the machine (1 ms for
    # Redis, which keeps the lease in whole milliseconds).
    assert float(runs[0][5]) >= sent_at + LEASE - 0.001

RECOVERY_LEASE = 3.0


def test_waiting_out_a_crashed_attempts_lease_spends_no_retries(
    dev: Callable[..., DevServer], effects: dict[str, str], tmp_path: Path
) -> None:
    """The recovered delivery finds the key the killed process held (a 409) until the lease
    ends. Those looks run no handler, so they are not attempts: the delivery keeps what its
    policy gives (2 retries after the killed attempt here), and a real failure after the
    restart is retried, not dead-lettered with the looks counted as failures."""
    state = tmp_path / "recovery-state"
    store = f"sqlite://{state}/idempotency.sqlite3?lease={RECOVERY_LEASE}"
    env = {**effects, "PORTABLE_FN_IDEMPOTENCY": store}
    first = dev("--time-scale", "1", env=env, state=state)
    event = CloudEvent.create(type="test.recovering", source="/tests/recovery", data={})
    sent_at = time.time()  # the handler takes the key after this: its lease ends after
    status, _, _ = first.request(
        "POST", "/_pf/queues/recovering", to_json(event),
        {"content-type": "application/cloudevents+json"},
    )
    assert status == 202
    wait_for_crash_point(Path(effects["PF_MARKERS"]) / f"{event.id}-crash")
    first.kill()

    second = dev("--time-scale", "1", env=env, state=state)
    settled = second.wait_for(
        lambda r: r.get("event") == "invocation" and r["outcome"] in ("ok", "dead"), timeout=60
    )
    runs = [int(row[2]) for row in effect_lines(effects, "recovering") if row[1] == event.id]
    # The killed attempt, the failure after the restart, and its retry: the full budget.
    assert runs == [1, 2, RECOVERING.max_retries + 1], second.lines[-20:]
    assert (settled["outcome"], settled["attempt"]) == ("ok", RECOVERING.max_retries + 1)
    outcomes = second.invocations("recovering")
    looks = [r for r in outcomes if "IdempotencyConflict" in r.get("error", "")]
    assert all((r["outcome"], r["attempt"]) == ("retry", 2) for r in looks), looks
    if outcomes[0]["ts"] < sent_at + RECOVERY_LEASE:
        # The first redelivery was answered before the lease could have ended: it had to
        # wait, so this run did exercise the looks (a loaded machine may restart later).
        assert looks and outcomes[0] is looks[0], second.lines[-20:]


def post_order(
    server: DevServer, body: dict[str, object] | bytes, key: str | None
) -> tuple[int, dict[str, str], object]:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return server.request("POST", "/orders", raw, headers)


def test_http_idempotency_key_replays_the_first_response(
    dev: Callable[..., DevServer], effects: dict[str, str], tmp_path: Path
) -> None:
    env = {**effects, "PORTABLE_FN_IDEMPOTENCY": f"sqlite://{tmp_path}/idem.sqlite3"}
    server = dev(env=env)
    key = uuid.uuid4().hex

    status, headers, first = post_order(server, {"sku": "a", "qty": 2}, key)
    assert status == 201 and "idempotent-replayed" not in headers
    status, headers, again = post_order(server, {"sku": "a", "qty": 2}, key)
    assert (status, again, headers.get("idempotent-replayed")) == (201, first, "true")
    assert len(effect_lines(effects, "order")) == 1

    status, _, body = post_order(server, {"sku": "b"}, key)  # same key, another request
    assert status == 422
    assert body["error"]["errors"][0]["loc"] == ["header", "Idempotency-Key"]  # type: ignore[index]

    # Two at once with a fresh key: one runs, the other is told it is in progress.
    key2 = uuid.uuid4().hex
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: post_order(server, {"sku": "c"}, key2)[0], range(2)))
    assert sorted(results) == [201, 409]

    # Without the header every request runs.
    assert post_order(server, {"sku": "d"}, None)[0] == 201
    assert post_order(server, {"sku": "d"}, None)[0] == 201
    assert [row[1] for row in effect_lines(effects, "order")] == ["a", "c", "d", "d"]


def test_a_rejected_request_does_not_use_up_its_key(
    dev: Callable[..., DevServer], effects: dict[str, str], tmp_path: Path
) -> None:
    env = {**effects, "PORTABLE_FN_IDEMPOTENCY": f"sqlite://{tmp_path}/idem.sqlite3"}
    server = dev(env=env)
    key = uuid.uuid4().hex
    status, _, body = post_order(server, {"qty": "many"}, key)
    assert status == 422
    assert body["error"]["errors"] == [  # type: ignore[index]
        {"loc": ["sku"], "msg": "field required", "type": "missing"},
        {"loc": ["qty"], "msg": "must be int", "type": "int_type"},
    ]
    assert post_order(server, b"{not json", key)[0] == 400
    status, _, body = post_order(server, {"sku": "fixed"}, key)
    assert status == 201 and body["sku"] == "fixed"  # type: ignore[index]


def test_the_same_key_from_two_callers_never_shares_a_response(tmp_path: Path) -> None:
    import portable_fn as pf
    from portable_fn.http import Headers, Request
    from portable_fn.idempotency import store_from_url
    from portable_fn.testing import invoke

    app = pf.App("callers")
    app.use_idempotency_store(store_from_url(f"sqlite://{tmp_path}/c.sqlite3"))

    @app.http("/me", methods=["POST"], idempotent=True)
    def me(req: pf.Request) -> dict[str, str]:
        return {"caller": req.headers.get("authorization") or ""}

    def call(token: str) -> object:
        headers = Headers({"authorization": token, "idempotency-key": "same"})
        response = invoke(app, "me", Request(method="POST", path="/me", headers=headers))
        return json.loads(response.body)  # type: ignore[attr-defined]

    assert call("Bearer alice") == {"caller": "Bearer alice"}
    assert call("Bearer bob") == {"caller": "Bearer bob"}
    assert call("Bearer alice") == {"caller": "Bearer alice"}  # alice's own replay


def test_the_same_key_from_two_cookie_sessions_never_shares_a_response(tmp_path: Path) -> None:
    # A browser app authenticates with a session cookie, not Authorization: the replay of
    # alice's response (her data, her Set-Cookie) must not reach mallory, who sends her key.
    import portable_fn as pf
    from portable_fn.http import Headers, Request
    from portable_fn.idempotency import store_from_url
    from portable_fn.testing import invoke

    app = pf.App("sessions")
    app.use_idempotency_store(store_from_url(f"sqlite://{tmp_path}/s.sqlite3"))
    runs: list[str] = []

    @app.http("/me", methods=["POST"], idempotent=True)
    def me(req: pf.Request) -> pf.Response:
        session = req.cookies.get("session", "")
        runs.append(session)
        return pf.Response.json({"caller": session}, headers={"set-cookie": f"csrf={session}"})

    def call(session: str) -> tuple[object, list[str]]:
        headers = Headers({"cookie": f"session={session}", "idempotency-key": "same"})
        response = invoke(app, "me", Request(method="POST", path="/me", headers=headers))
        assert isinstance(response, pf.Response)
        return json.loads(response.body), response.headers.getall("set-cookie")

    assert call("alice") == ({"caller": "alice"}, ["csrf=alice"])
    assert call("mallory") == ({"caller": "mallory"}, ["csrf=mallory"])
    assert call("alice") == ({"caller": "alice"}, ["csrf=alice"])  # alice's own replay
    assert runs == ["alice", "mallory"]


def _sigv4(akid: str, amz_date: str, signature: str) -> str:
    return (f"AWS4-HMAC-SHA256 Credential={akid}/{amz_date[:8]}/us-east-1/lambda/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={signature}")


def test_an_unverified_sigv4_header_never_claims_its_access_keys_scope(tmp_path: Path) -> None:
    """Only the access key AWS verified stands for the caller: a function URL or HTTP API with
    AWS_IAM auth names it in ``requestContext.authorizer.iam.accessKey``
    (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads), a REST
    API in ``requestContext.identity.accessKey``. Where nothing checked the signature (auth
    NONE, another provider, dev), anyone can write ``Credential=<alice's key id>`` (a key id
    is no secret) with a made-up signature: it must not be replayed alice's response."""
    import portable_fn as pf
    from portable_fn.adapter import dispatch_http
    from portable_fn.http import Headers, Request
    from portable_fn.idempotency import store_from_url

    app = pf.App("forged")
    app.use_idempotency_store(store_from_url(f"sqlite://{tmp_path}/f.sqlite3"))
    runs: list[str] = []

    @app.http("/pay", methods=["POST"], idempotent=True)
    def pay(req: pf.Request) -> dict[str, str]:
        runs.append(req.headers.get("authorization") or "")
        return {"receipt": f"for {len(runs)}"}

    def call(authorization: str, native: object = None) -> object:
        sent = Headers({"idempotency-key": "k1", "authorization": authorization})
        ctx = pf.Context(provider="aws", function_name="pay", invocation_id="i", native=native)
        response = dispatch_http(app, Request(method="POST", path="/pay", headers=sent), ctx)
        return json.loads(response.body)

    alice = _sigv4("AKIAALICE", "20261206T235959Z", "aa" * 32)
    forged = _sigv4("AKIAALICE", "20261206T235959Z", "00" * 32)
    assert call(alice) == {"receipt": "for 1"}
    assert call(forged) == {"receipt": "for 2"}  # not alice's receipt
    verified = {"requestContext": {"authorizer": {"iam": {"accessKey": "AKIAMALLORY"}}}}
    mallory = _sigv4("AKIAALICE", "20261206T235959Z", "11" * 32)  # signed by another key
    assert call(mallory, verified) == {"receipt": "for 3"}


def test_a_sigv4_retry_is_replayed_and_proxy_identities_are_scoped(tmp_path: Path) -> None:
    """A client that signs with SigV4 (a Lambda function URL or API Gateway with AWS_IAM auth)
    signs every retry anew: the ``Authorization`` header differs by its date and signature
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-auth-header.html), so a
    retry ran the handler again. Its caller is the access key of the credential. Identity
    proxies name their user in headers of their own (IAP's X-Goog-Authenticated-User-Id,
    https://cloud.google.com/iap/docs/identity-howto; Cloudflare Access's
    Cf-Access-Authenticated-User-Email; App Service authentication's X-MS-CLIENT-PRINCIPAL-ID):
    two users behind one proxy, without an Authorization of their own, never share a reply."""
    import portable_fn as pf
    from portable_fn.adapter import dispatch_http
    from portable_fn.http import Headers, Request
    from portable_fn.idempotency import store_from_url

    app = pf.App("signed")
    app.use_idempotency_store(store_from_url(f"sqlite://{tmp_path}/g.sqlite3"))
    runs: list[str] = []

    @app.http("/pay", methods=["POST"], idempotent=True)
    def pay(req: pf.Request) -> dict[str, int]:
        runs.append(req.headers.get("authorization") or req.headers.get("x-user") or "")
        return {"run": len(runs)}

    def call(key: str, native: object = None, **headers: str) -> object:
        sent = Headers({"idempotency-key": key, **headers})
        ctx = pf.Context(provider="aws", function_name="pay", invocation_id="i", native=native)
        response = dispatch_http(app, Request(method="POST", path="/pay", headers=sent), ctx)
        return json.loads(response.body)

    def iam(key: str) -> dict[str, object]:  # a function URL's or HTTP API's (AWS_IAM auth)
        return {"requestContext": {"authorizer": {"iam": {"accessKey": key}}}}

    def rest(key: str) -> dict[str, object]:  # a REST API's (AWS_IAM auth)
        return {"requestContext": {"identity": {"accessKey": key}}}

    first = _sigv4("AKIAALICE", "20261206T235959Z", "aa" * 32)
    retry = _sigv4("AKIAALICE", "20261207T000004Z", "bb" * 32)  # past midnight
    other = _sigv4("AKIABOB", "20261206T190006Z", "cc" * 32)
    assert call("k1", iam("AKIAALICE"), authorization=first) == {"run": 1}
    assert call("k1", iam("AKIAALICE"), authorization=retry) == {"run": 1}  # replayed
    assert call("k1", iam("AKIABOB"), authorization=other) == {"run": 2}  # bob's own key space
    assert call("k2", rest("AKIAALICE"), authorization=first) == {"run": 3}
    assert call("k2", rest("AKIAALICE"), authorization=retry) == {"run": 3}
    for header in ("x-goog-authenticated-user-id", "cf-access-authenticated-user-email",
                   "x-ms-client-principal-id"):
        assert call(f"k-{header}", **{header: "alice", "x-user": "a"}) == {"run": len(runs)}
        assert call(f"k-{header}", **{header: "bob", "x-user": "b"}) == {"run": len(runs)}
        assert runs[-2:] == ["a", "b"]
