"""``--env-file``: dotenv lines for ``dev`` and ``invoke``, under what the shell sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portable_fn._local.env_file import parse
from portable_fn.cli import main
from portable_fn.errors import ConfigurationError


def test_the_common_dotenv_subset() -> None:
    text = (
        "# local secrets\n"
        "\n"
        "STRIPE_KEY=sk_test_1\n"
        "export REGION_NAME = eu-west-1  # a comment\n"
        "URL=https://x.example/?a=1&b=2#frag\n"
        "GREETING=\"hello\\nworld \\\"q\\\"\"  # quoted\n"
        "RAW='a\\nb $HOME'\n"
        "EMPTY=\n"
        "QUOTED_EMPTY=\"\"\n"
    )
    assert parse(text) == {
        "STRIPE_KEY": "sk_test_1",
        "REGION_NAME": "eu-west-1",
        "URL": "https://x.example/?a=1&b=2#frag",  # a '#' not after a space is the value's
        "GREETING": 'hello\nworld "q"',
        "RAW": "a\\nb $HOME",  # single quotes: as written, no expansion
        "EMPTY": "",
        "QUOTED_EMPTY": "",
    }


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("A=1\nno equals sign\n", 2),
        ('A="open\n', 1),
        ("A='x' y\n", 1),
        ("1A=x\n", 1),
    ],
)
def test_a_line_that_is_not_name_value_names_its_line(text: str, line: int) -> None:
    with pytest.raises(ConfigurationError, match=f"line {line}: not NAME=VALUE"):
        parse(text, "f")


APP = '''
import os
import portable_fn as pf

app = pf.App("from-file", secrets=["FILE_TEST_KEY"])


@app.queue("jobs")
def show(event: pf.CloudEvent) -> None:
    pf.logger.info("seen", key=app.secret("FILE_TEST_KEY"), other=os.environ["FILE_TEST_OTHER"])
'''


def test_invoke_reads_secrets_from_the_env_file_and_the_shell_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("FILE_TEST_KEY", "FILE_TEST_OTHER"):
        monkeypatch.setenv(name, "x")  # restored to absent after the test, whatever it set
        monkeypatch.delenv(name)
    monkeypatch.setenv("FILE_TEST_OTHER", "from-shell")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file_app.py").write_text(APP)
    (tmp_path / ".env").write_text("FILE_TEST_KEY=k-9\nFILE_TEST_OTHER=from-file\n")
    (tmp_path / "event.json").write_text("{}")
    code = main(["invoke", "file_app.py", "show", "--event", "event.json", "--env-file", ".env"])
    assert code == 0
    captured = capsys.readouterr()
    seen = [json.loads(x) for x in (captured.out + captured.err).splitlines()
            if '"message":"seen"' in x]
    assert [(x["key"], x["other"]) for x in seen] == [("k-9", "from-shell")]


def test_a_missing_env_file_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "event.json").write_text("{}")
    code = main(["invoke", "x.py", "show", "--event", "event.json", "--env-file", "nope.env"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--env-file nope.env: no such file" in err and "Traceback" not in err
