# SPDX-License-Identifier: Apache-2.0
"""What ``app.zip`` ships of the framework: the same code, line for line, without its docs."""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

import pytest

from portable_fn_aws._sources import package_files
from portable_fn_aws._strip import stripped
from portable_fn_aws.target import RUNTIME_MODULES

SHIPPED = {
    **package_files("portable_fn", exclude=("_local",)),
    **package_files("portable_fn_aws", only=RUNTIME_MODULES),
}


def _without_docstrings(tree: ast.AST) -> str:
    """The tree with every docstring emptied, positions included (what must not change): only
    where a docstring ends moves (the empty literal is shorter), and with it the end of the
    statement, or of a body, that the docstring ends."""
    ends = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body[0].value.value = ""
            ends.add((body[0].value.end_lineno, body[0].value.end_col_offset))
    for node in ast.walk(tree):
        if (getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)) in ends:
            node.end_col_offset = None  # type: ignore[attr-defined]
    return ast.dump(tree, include_attributes=True)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_statement_keeps_its_line_and_column(name: str) -> None:
    source = SHIPPED[name]
    result = stripped(source)
    assert result.count(b"\n") == source.count(b"\n")
    assert _without_docstrings(ast.parse(result)) == _without_docstrings(ast.parse(source))
    assert result.startswith(b"# SPDX-License-Identifier: Apache-2.0\n")
    text = result.decode()
    assert not any(line.lstrip().startswith("#") for line in text.splitlines()[1:])


def test_docstrings_and_comments_go_code_and_strings_stay() -> None:
    source = (
        b'"""Module doc,\n\nover three lines."""\n'
        b"from __future__ import annotations\n"
        b"# a whole-line comment\n"
        b"class C:\n"
        b"    '''Class doc.'''  # trailing\n"
        b"    x = '# not a comment'  # but this is\n"
        b"    def f(self):\n"
        b'        """Only a docstring."""\n'
        b"    async def g(self):\n"
        b"        'doc'; return f'''{1}\n# inside a string\n'''\n"
    )
    result = stripped(source)
    assert result == (
        b'"""\n\n"""\n'
        b"from __future__ import annotations\n"
        b"\n"
        b"class C:\n"
        b'    ""\n'
        b"    x = '# not a comment'\n"
        b"    def f(self):\n"
        b'        ""\n'
        b"    async def g(self):\n"
        b"        \"\"; return f'''{1}\n# inside a string\n'''\n"
    )
    namespace: dict[str, object] = {}
    exec(compile(result, "m.py", "exec"), namespace)  # still a module: __future__ after a string


def test_source_this_interpreter_cannot_parse_ships_as_it_is() -> None:
    source = b"def f(:\n    # comment\n    pass\n"
    assert stripped(source) == source


def test_the_zip_ships_framework_stripped_and_the_app_as_written(shop_package: Path) -> None:
    with zipfile.ZipFile(shop_package / "app.zip") as archive:
        shipped = {name: archive.read(name) for name in archive.namelist()}
    assert shipped["portable_fn/events.py"] == stripped(SHIPPED["portable_fn/events.py"])
    assert shipped["portable_fn/events.py"] != SHIPPED["portable_fn/events.py"]
    app = Path(__file__).resolve().parents[3] / "examples" / "shop" / "app.py"
    assert shipped["examples/shop/app.py"] == app.read_bytes()
