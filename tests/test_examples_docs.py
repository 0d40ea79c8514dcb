"""The user docs as a newcomer follows them: every command line they give names options the CLI
has, and the README's Python example runs against the public API as its comments say."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

import portable_fn as pf
from portable_fn import cli
from portable_fn.testing import RecordingPublisher, http_request, invoke
from portable_fn.triggers import Http, Queue, Topic

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "adapters").glob("*/README.md"),
        *(ROOT / "examples").glob("*/README.md"),
    ]
)
# `portable-fn dev APP --port 0`, `python -m portable_fn dlq APP list --json`, in a code block or
# inline code; the line ends at a closing backtick or a shell comment.
COMMAND = re.compile(r"(?:portable-fn|python -m portable_fn) ([a-z]+)\b([^`#\n]*)")


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of a parser and of the subcommands under it."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def _commands() -> dict[str, set[str]]:
    parser = cli._parser()
    (subparsers,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: _options(sub) for name, sub in subparsers.choices.items()}


def _named_options() -> list[tuple[str, int, str, str]]:
    """(doc, line, command, option) for each option a command line in the docs names."""
    named = []
    for doc in DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for match in COMMAND.finditer(line):
                for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", match.group(2)):
                    named.append((str(doc.relative_to(ROOT)), number, match.group(1), option))
    return named


def test_the_docs_name_command_lines() -> None:
    # The scan below must see something, or it passes on nothing.
    assert len(_named_options()) >= 10


def test_every_option_a_documented_command_line_names_exists() -> None:
    commands = _commands()
    wrong = [
        f"{doc}:{line}: portable-fn {command} {option}"
        for doc, line, command, option in _named_options()
        if command in commands and option not in commands[command]
    ]
    assert wrong == []


def test_every_option_in_the_cli_reference_table_exists() -> None:
    commands = _commands()
    rows = [
        line
        for line in (ROOT / "docs" / "cli.md").read_text(encoding="utf-8").splitlines()
        if re.match(r"\| `[a-z]+ APP|\| `events ", line)
    ]
    assert {row.split("`")[1].split()[0] for row in rows} == set(commands)
    for row in rows:
        command = row.split("`")[1].split()[0]
        for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", row):
            assert option in commands[command], (command, option)


def test_the_dev_options_the_shop_readme_recommends_exist() -> None:
    text = (ROOT / "examples" / "shop" / "README.md").read_text(encoding="utf-8")
    paragraph = text.split("Useful `dev` options:", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", paragraph))
    assert len(named) >= 4
    assert named <= _commands()["dev"]


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", text, re.S)
    assert match is not None
    return match.group(1)


def test_the_readme_example_runs_as_its_comments_say() -> None:
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(_readme_example(), "README.md", "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, pf.App)
    triggers = {name: fn.trigger for name, fn in app.functions.items()}
    assert isinstance(triggers["create_order"], Http)
    assert isinstance(triggers["notify"], Topic) and triggers["notify"].name == "order-events"
    fulfil = triggers["fulfil"]
    assert isinstance(fulfil, Queue)
    assert (fulfil.name, fulfil.dead_letter, fulfil.retry.max_retries) == (
        "fulfilment",
        "fulfilment-dlq",
        3,
    )

    recorder = RecordingPublisher()
    app.use_publisher(recorder)
    response = invoke(app, "create_order", http_request("POST", "/orders", json={"sku": "a"}))
    assert isinstance(response, pf.Response)
    assert response.status == 202
    (published,) = recorder.to("order-events")
    assert published.type == "com.example.order.created"
    assert published.data == {"sku": "a"}


@pytest.mark.parametrize("body", [b"not json", b'{"sku": '])
def test_the_readme_example_answers_bad_json_with_a_400(body: bytes) -> None:
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(_readme_example(), "README.md", "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, pf.App)
    app.use_publisher(RecordingPublisher())
    response = invoke(app, "create_order", http_request("POST", "/orders", body=body))
    assert isinstance(response, pf.Response)
    assert response.status == 400
