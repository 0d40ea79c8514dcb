"""``portable-fn dev`` serves an app's ``env=`` and secrets as a deploy would: settings in the
environment from import on (the shell's own values win), secrets from the shell, and a warning
at start naming each declared secret the shell does not set."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .devserver import DevServer

APP = '''
import os
import portable_fn as pf

app = pf.App("configured", env={"CURRENCY": "EUR", "REGION_NAME": "eu"},
             secrets=["SETTINGS_TEST_KEY", "SETTINGS_TEST_UNSET"])
AT_IMPORT = os.environ["CURRENCY"]


@app.http("/settings", auth="anonymous")
def settings(req: pf.Request) -> dict[str, str]:
    return {"at_import": AT_IMPORT, "region": os.environ["REGION_NAME"],
            "key": app.secret("SETTINGS_TEST_KEY")}


@app.http("/unset", auth="anonymous")
def unset(req: pf.Request) -> dict[str, str]:
    return {"value": app.secret("SETTINGS_TEST_UNSET")}
'''


def test_dev_gives_handlers_env_and_secrets_and_warns_of_unset_ones(
    dev: Callable[..., DevServer], tmp_path: Path
) -> None:
    path = tmp_path / "configured.py"
    path.write_text(APP)
    server = dev(str(path), env={"REGION_NAME": "us", "SETTINGS_TEST_KEY": "k-1"})
    warning = server.wait_for(lambda r: r.get("event") == "warning", timeout=15)
    assert "SETTINGS_TEST_UNSET" in warning["message"]
    assert "SETTINGS_TEST_KEY" not in warning["message"]
    status, _, body = server.request("GET", "/settings")
    assert (status, body) == (200, {"at_import": "EUR", "region": "us", "key": "k-1"})
    status, _, body = server.request("GET", "/unset")
    # The client gets a JSON 500 without the secret's name or a stack; the log line says why.
    assert status == 500 and "Traceback" not in str(body)
    # Written after the handler's error line, on the same stream: once read, so is that.
    server.wait_for(lambda r: r.get("event") == "http" and r["path"] == "/unset")
    logged = [json.loads(line) for line in server.lines if '"SecretNotSet"' in line]
    assert [(x["function"], x["level"]) for x in logged] == [("unset", "ERROR")]
    assert "SETTINGS_TEST_UNSET is not set" in logged[0]["error"]


RELOADING = '''
import os
import portable_fn as pf

app = pf.App("paging", env={{"PAGE_SIZE": {size!r}}})


@app.http("/size", auth="anonymous")
def size(req: pf.Request) -> dict[str, str]:
    return {{"size": os.environ["PAGE_SIZE"]}}
'''


def test_dev_reload_serves_an_edited_env_value(
    dev: Callable[..., DevServer], tmp_path: Path
) -> None:
    """The supervisor imports the app once to check it; its env= values must not reach the
    workers as if the shell had exported them, or an edited value would lose to the first."""
    from .test_dev_reload import reloaded, save, serving

    path = tmp_path / "paging.py"
    save(path, RELOADING.format(size="25"))
    server = dev(str(path), "--reload")
    serving(server, 1)
    assert server.request("GET", "/size")[2] == {"size": "25"}
    save(path, RELOADING.format(size="50"))
    reloaded(server, 1)
    serving(server, 2)
    assert server.request("GET", "/size")[2] == {"size": "50"}
