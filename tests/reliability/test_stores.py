"""The idempotency ``Store`` contract, the same assertions against every backend.

Real backends: SQLite files, DynamoDB on moto's server and Debian's redis-server, both on
127.0.0.1 (conftest). ``memory://`` is the in-process store and is held to the same contract.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from portable_fn.errors import ConfigurationError
from portable_fn.idempotency import Store, store_from_url

from .conftest import dynamodb_url


@pytest.fixture(params=["memory", "sqlite", "dynamodb", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    backend = request.param
    if backend == "memory":
        return store_from_url("memory://")
    if backend == "sqlite":
        return store_from_url(f"sqlite://{tmp_path}/idem.sqlite3")
    if backend == "dynamodb":
        return store_from_url(dynamodb_url(request.getfixturevalue("moto_endpoint")))
    return store_from_url(request.getfixturevalue("redis_url"))


def key(name: str) -> str:
    return f"{name}-{time.time_ns()}"


def test_first_acquire_wins_and_others_see_the_holder(store: Store) -> None:
    k, now = key("a"), time.time()
    assert store.acquire(k, "t1", now + 30, now) is None
    held = store.acquire(k, "t2", now + 30, now)
    assert held is not None
    assert (held.status, held.token) == ("in_progress", "t1")
    assert store.get(k, now) == held


def test_complete_stores_the_result_and_blocks_the_key(store: Store) -> None:
    k, now = key("b"), time.time()
    assert store.acquire(k, "t1", now + 30, now) is None
    payload = bytes(range(256))  # any bytes survive every backend
    assert store.complete(k, "t1", payload, now + 60, now) is True
    found = store.acquire(k, "t2", now + 30, now)
    assert found is not None
    assert (found.status, found.token, found.result) == ("completed", "t1", payload)


def test_a_stale_attempt_cannot_complete_over_a_live_holder(store: Store) -> None:
    k, now = key("c"), time.time()
    assert store.acquire(k, "new", now + 30, now) is None
    assert store.complete(k, "old", None, now + 60, now) is False
    held = store.get(k, now)
    assert held is not None and (held.status, held.token) == ("in_progress", "new")


def test_release_frees_only_the_holders_key(store: Store) -> None:
    k, now = key("d"), time.time()
    assert store.acquire(k, "t1", now + 30, now) is None
    store.release(k, "someone-else")
    assert store.get(k, now) is not None
    store.release(k, "t1")
    assert store.get(k, now) is None
    assert store.acquire(k, "t2", now + 30, now) is None


def test_release_never_drops_a_completed_record(store: Store) -> None:
    k, now = key("e"), time.time()
    assert store.acquire(k, "t1", now + 30, now) is None
    assert store.complete(k, "t1", None, now + 60, now)
    store.release(k, "t1")
    found = store.get(k, now)
    assert found is not None and found.status == "completed"


def test_an_expired_lease_is_taken_over(store: Store) -> None:
    k, now = key("f"), time.time()
    assert store.acquire(k, "crashed", now + 0.5, now) is None
    later = time.time()
    held = store.acquire(k, "retry", later + 30, later)
    if time.time() < now + 0.5:  # asked and answered inside the lease (a loaded machine may
        assert held is not None  # take longer than the lease to get here; then it is over)
    time.sleep(0.65)  # from after the first acquire returned: past the lease on every backend
    later = time.time()
    assert store.acquire(k, "retry", later + 30, later) is None
    # The crashed attempt, were it only slow, may not overwrite its successor.
    assert store.complete(k, "crashed", None, later + 60, later) is False
    assert store.complete(k, "retry", None, later + 60, later) is True


def test_completing_after_the_own_lease_ran_out_still_records(store: Store) -> None:
    k, now = key("g"), time.time()
    assert store.acquire(k, "slow", now + 0.2, now) is None
    time.sleep(0.35)
    later = time.time()
    assert store.complete(k, "slow", None, later + 60, later) is True
    found = store.get(k, later)
    assert found is not None and found.status == "completed"


def test_delete_forgets_the_key(store: Store) -> None:
    k, now = key("h"), time.time()
    assert store.acquire(k, "t1", now + 30, now) is None
    assert store.complete(k, "t1", b"x", now + 60, now)
    store.delete(k)
    assert store.get(k, now) is None
    assert store.acquire(k, "t2", now + 30, now) is None


def test_urls_carry_lease_and_retention(tmp_path: Path) -> None:
    store = store_from_url(f"sqlite://{tmp_path}/x.sqlite3?lease=2.5&retention=60")
    assert (store.lease, store.retention) == (2.5, 60.0)


@pytest.mark.parametrize(
    "url",
    [
        "postgres://db/x",
        "sqlite://",
        "dynamodb://?region=eu-west-1",
        "nonsense",
        "memory://?lease=soon",
        # A lease of 0 (or less) lets every racing delivery take the key: no exclusion at
        # all; an infinite one never frees a crashed attempt's key; NaN compares as neither.
        "memory://?lease=0",
        "memory://?retention=-60",
        "memory://?lease=inf",
        "memory://?retention=nan",
    ],
)
def test_bad_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        store_from_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "rediss://:S3cretPass@cache.example:6380/0?lease=soon",
        "redis://app:S3cretPass@cache.example/0?lease=0",
        "unknown://app:S3cretPass@host?token=S3cretPass",
    ],
)
def test_a_bad_urls_error_does_not_quote_its_password(url: str) -> None:
    """The error is logged on every idempotent call that cannot get its store."""
    with pytest.raises(ConfigurationError) as info:
        store_from_url(url)
    assert "S3cretPass" not in str(info.value) and "***" in str(info.value)


def test_the_environment_names_the_store_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portable_fn import App
    from portable_fn.idempotency import ENV, MemoryStore, SQLiteStore
    from portable_fn.idempotency.config import store_for

    monkeypatch.setenv(ENV, f"sqlite://{tmp_path}/env.sqlite3?lease=3")
    app = App("envstore")
    store = store_for(app)
    assert isinstance(store, SQLiteStore) and store.lease == 3.0
    assert store_for(app) is store and app.idempotency_store is store
    monkeypatch.delenv(ENV)
    assert isinstance(store_for(App("fallback")), MemoryStore)  # with a warning in the log


def test_a_redis_url_keeps_its_own_options(redis_url: str) -> None:
    # Options other than lease/retention reach redis-py as written: an encoded "&" in a value
    # (a password, a client name) stays part of that value.
    store = store_from_url(f"{redis_url}?client_name=idem%26test&lease=2")
    assert store.lease == 2.0
    name = store.client.client_getname()  # type: ignore[attr-defined]  # asks the server
    assert (name.decode() if isinstance(name, bytes) else name) == "idem&test"


def test_the_memory_store_forgets_expired_records() -> None:
    # The fallback store of a warm instance that runs for hours: what expired must go, or
    # every event ever seen stays in memory.
    from portable_fn.idempotency import MemoryStore

    store = MemoryStore()
    t0, n = time.time(), 3000
    for i in range(n):
        assert store.acquire(f"old-{i}", "t", t0 + 1, t0) is None
    later = t0 + 100  # every old record has expired by now
    for i in range(n):
        assert store.acquire(f"new-{i}", "t", later + 30, later) is None
    records = store._records  # what the process holds
    assert not [k for k in records if k.startswith("old-")]
    # Live records are never dropped: each new key is still held.
    held = [store.acquire(f"new-{i}", "u", later + 30, later) for i in range(n)]
    assert all(r is not None and r.token == "t" for r in held)
