"""``portable-fn dev --reload``: the real command on 127.0.0.1 and a temporary app file, edited
as a user saves it (uvicorn's ``--reload``, https://www.uvicorn.org/settings/#reloading, and
``functions-framework --debug`` / ``wrangler dev``, which users of those expect).

Each edit waits for the previous worker's "serving" record first: the reloader has then
recorded the file's mtime (it scans every 0.25 s), so the next save is seen as a change.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .devserver import DevServer, Record, run_cli

APP = '''
import portable_fn as pf

app = pf.App("reloading")
VERSION = {version!r}


@app.http("/hello", methods=["GET", "POST"])
def hello(req: pf.Request) -> dict[str, object]:
    return {{"version": VERSION}}


@app.queue("jobs", retry=pf.Retry(max_retries=0))
def job(event: pf.CloudEvent) -> None:
    if VERSION == 1:
        raise RuntimeError("broken in version 1")
'''

JOB = {
    "ce-specversion": "1.0",
    "ce-id": "job-1",
    "ce-source": "/tests",
    "ce-type": "test.job",
    "content-type": "application/json",
}


def save(path: Path, text: str) -> None:
    """Write ``text`` and move the mtime on: a save within the filesystem's mtime resolution
    of the last one must still be a change for the stat reloader."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    if path.stat().st_mtime_ns <= before:
        os.utime(path, ns=(before + 10_000_000, before + 10_000_000))


def serving(server: DevServer, count: int) -> Record:
    return server.wait_all(lambda r: r.get("event") == "serving", count, timeout=20)[-1]


def reloaded(server: DevServer, count: int) -> Record:
    """The ``count``-th "reloading" record (it names the file that changed)."""
    return server.wait_all(lambda r: r.get("event") == "reloading", count, timeout=20)[-1]


def test_an_edit_is_served_on_the_same_port_with_every_option_of_dev(
    dev: Callable[..., DevServer], tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    save(app, APP.format(version=1))
    buckets = tmp_path / "objects"
    server = dev(
        str(app), "--reload", "--max-body", "64", "--allow-host", "alias.test", "--quiet-http",
        "--bucket-dir", str(buckets),
    )
    first = serving(server, 1)
    assert server.request("GET", "/hello")[2] == {"version": 1}

    save(app, APP.format(version=2))
    assert reloaded(server, 1)["changed"] == [str(app)]
    again = serving(server, 2)
    for field in ("port", "url", "state_dir", "buckets", "app"):
        assert again[field] == first[field]
    assert server.request("GET", "/hello")[2] == {"version": 2}
    # --allow-host, --max-body and --quiet-http reached the new worker.
    assert server.request("GET", "/hello", headers={"host": "alias.test"})[0] == 200
    assert server.request("GET", "/hello", headers={"host": "evil.test"})[0] == 403
    assert server.request("POST", "/hello", b"x" * 100)[0] == 413
    assert not [r for r in server.records if r.get("event") == "http"]


def test_a_broken_save_is_one_error_line_and_the_next_good_save_serves_again(
    dev: Callable[..., DevServer], tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    save(app, APP.format(version=1))
    server = dev(str(app), "--reload")

    save(app, APP.format(version=2) + "\ndef broken(:\n")
    error = server.wait_for(lambda r: r.get("event") == "error", timeout=20)
    assert "SyntaxError" in error["message"] and "app.py" in error["message"]
    # The last good version no longer serves; a request is answered, a JSON 503, not held.
    status, headers, body = server.request("GET", "/hello")
    assert status == 503 and headers["content-type"] == "application/json"
    assert "SyntaxError" in body["error"]["message"]

    # A decoration-time ConfigurationError is one line too.
    save(app, APP.format(version=3).replace("max_retries=0)", "max_retries=0), max_retries=1"))
    errors = server.wait_all(lambda r: r.get("event") == "error", 2, timeout=20)
    assert "not both" in errors[-1]["message"]

    save(app, APP.format(version=4))
    serving(server, 2)
    assert server.proc.poll() is None
    assert server.request("GET", "/hello")[2] == {"version": 4}
    assert not [line for line in server.lines if "Traceback" in line]


def test_an_event_dead_lettered_before_a_reload_is_redriven_to_the_fixed_handler(
    dev: Callable[..., DevServer], tmp_path: Path
) -> None:
    """The workflow the flag is for: a handler fails, the user fixes it, ``dlq redrive``."""
    app = tmp_path / "app.py"
    save(app, APP.format(version=1))
    state = tmp_path / "state"
    server = dev(str(app), "--reload", state=state)
    assert server.request("POST", "/_pf/queues/jobs", b'{"n": 1}', JOB)[0] == 202
    server.wait_for(lambda r: r.get("event") == "invocation" and r["outcome"] == "dead")

    save(app, APP.format(version=2))
    serving(server, 2)
    redrive = run_cli("dlq", str(app), "redrive", "--all", "--state-dir", str(state))
    assert redrive.returncode == 0, redrive.stderr
    done = server.wait_for(
        lambda r: r.get("event") == "invocation" and r["id"] == "job-1" and r["outcome"] == "ok"
    )
    assert done["attempt"] == 1


def test_a_delivery_in_flight_at_a_reload_runs_again_in_the_new_worker(
    dev: Callable[..., DevServer], tmp_path: Path
) -> None:
    """As at Ctrl-C: the old worker's 5 s grace ends, its delivery goes back uncounted."""
    app = tmp_path / "app.py"
    stuck = APP.replace('raise RuntimeError("broken in version 1")', "time.sleep(60)")
    save(app, "import time\n" + stuck.format(version=1))
    server = dev(str(app), "--reload")
    assert server.request("POST", "/_pf/queues/jobs", b'{"n": 1}', JOB)[0] == 202
    server.wait_for(lambda r: r.get("event") == "start" and r["id"] == "job-1")

    save(app, "import time\n" + stuck.format(version=2))
    done = server.wait_for(
        lambda r: r.get("event") == "invocation" and r["id"] == "job-1", timeout=30
    )
    assert (done["outcome"], done["attempt"]) == ("ok", 1)
    assert server.records.index(done) > server.records.index(reloaded(server, 1))


def test_a_reload_dir_that_is_no_directory_exits_2_with_one_line(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    save(app, APP.format(version=1))
    missing = tmp_path / "nowhere"
    result = run_cli("dev", str(app), "--reload", "--reload-dir", str(missing), "--port", "0",
                     "--state-dir", str(tmp_path / "state"), timeout=20)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"portable-fn dev: --reload-dir {missing}: no such directory"
    ]
