"""``portable_fn.adapter`` helpers the packaging targets share."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from portable_fn import adapter
from portable_fn.adapter import app_requirements, localized_constraints
from portable_fn.errors import ConfigurationError


def test_app_requirements_keeps_what_the_target_must_install(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    assert app_requirements(path) == []  # no file, nothing to add
    path.write_text(
        "# the app's own\nhttpx>=0.27  # client\n\nportable-fn[gcp]\nPortable_FN_aws\n"
        "Functions_Framework==3.0\nrequests\n"
    )
    assert app_requirements(path) == ["httpx>=0.27", "Functions_Framework==3.0", "requests"]
    assert app_requirements(path, skip=("functions-framework",)) == ["httpx>=0.27", "requests"]


def test_app_requirements_reads_fragments_and_continuations_as_pip_does(tmp_path: Path) -> None:
    # pip's requirements file format: `#` starts a comment at a line's start or after
    # whitespace only; a trailing backslash continues the line.
    path = tmp_path / "requirements.txt"
    path.write_text(
        "lib @ git+https://example.com/mono.git#subdirectory=lib  # the monorepo's lib\n"
        "pkg @ https://example.com/pkg-1.0.tar.gz#sha256=abc\n"
        "hashed==1.0 \\\n"
        "    --hash=sha256:def\n"
        "# a comment \\\n"
        "last==2\n"
    )
    assert app_requirements(path) == [
        "lib @ git+https://example.com/mono.git#subdirectory=lib",
        "pkg @ https://example.com/pkg-1.0.tar.gz#sha256=abc",
        "hashed==1.0     --hash=sha256:def",
        "last==2",
    ]


def test_nested_requirement_files_are_read_where_pip_reads_them(tmp_path: Path) -> None:
    """pip's requirements file format: ``-r``/``--requirement`` names another file, read
    relative to the file naming it; ``-c`` a constraints file that installs nothing. A target
    writes its own requirements elsewhere (another folder, pyproject.toml), where ``-r
    reqs/base.txt`` named nothing: the nested file's lines take its place."""
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "base.txt").write_text("six==1.16.0\n-r ../requirements.txt\n")
    (tmp_path / "reqs" / "more.txt").write_text("portable-fn\nattrs  # pinned below\n")
    (tmp_path / "reqs" / "constraints.txt").write_text("attrs<24\n")
    path = tmp_path / "requirements.txt"
    path.write_text(
        "-r reqs/base.txt\n--requirement=reqs/more.txt\n-c reqs/constraints.txt\n"
        "-r https://example.com/shared.txt\nhttpx\n"
    )
    constraints = tmp_path / "reqs" / "constraints.txt"
    assert app_requirements(path) == [
        "six==1.16.0", "attrs", f"-c {constraints}", "-r https://example.com/shared.txt", "httpx"
    ]
    assert app_requirements(path, skip=("six",))[0] == "attrs"  # skip reaches nested files
    path.write_text("-r reqs/missing.txt\n")
    with pytest.raises(ConfigurationError, match=r"reqs/missing.txt"):
        app_requirements(path)


def test_constraints_files_go_into_a_package_built_remotely(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("attrs<24\n")
    out = tmp_path / "out"
    out.mkdir()
    lines = ["six", f"-c {tmp_path / 'c.txt'}", "-c https://example.com/c.txt"]
    assert localized_constraints(lines, out) == [
        "six", "-c constraints-0.txt", "-c https://example.com/c.txt"
    ]
    assert (out / "constraints-0.txt").read_text() == "attrs<24\n"
    # A file of the app's by that name (copied into the package before) is never overwritten.
    assert localized_constraints([f"-c {tmp_path / 'c.txt'}"], out) == ["-c constraints-1.txt"]
    assert (out / "constraints-0.txt").read_text() == "attrs<24\n"


def test_requirement_options_are_cut_off_the_specifier() -> None:
    """pip's per-requirement options follow the specifier after whitespace; a URL's ``--``
    inside a word is no option."""
    from portable_fn.adapter import requirement_options

    hashed = "attrs==24.2.0 --hash=sha256:81"
    assert requirement_options(hashed) == ("attrs==24.2.0", " --hash=sha256:81")
    assert requirement_options("a==1\t--config-settings x=y") == ("a==1", "\t--config-settings x=y")
    assert requirement_options("pkg @ https://h/p--1.tar.gz") == ("pkg @ https://h/p--1.tar.gz", "")


def test_a_missing_adapter_of_this_repository_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from portable_fn import _tooling  # where load_adapter looks them up

    monkeypatch.setattr(_tooling, "installed_adapters", dict)
    with pytest.raises(ImportError, match=r"pip install -e adapters/gcp .*installed: none"):
        adapter.load_adapter("gcp")


@pytest.mark.parametrize(("name", "meant"), [("awss", "aws"), ("Azure", "azure"), ("gpc", "gcp")])
def test_a_misspelt_provider_gets_its_spelling_not_a_folder_that_does_not_exist(
    name: str, meant: str
) -> None:
    with pytest.raises(ImportError) as raised:
        adapter.load_adapter(name)
    message = str(raised.value)
    assert f"did you mean {meant!r}?" in message
    assert "adapters/" not in message  # no folder of that name to install from


def test_a_name_that_is_no_provider_lists_the_providers() -> None:
    with pytest.raises(ImportError) as raised:
        adapter.load_adapter("local")
    assert "the providers are aws, azure, cloudflare, gcp" in str(raised.value)
    assert "adapters/local" not in str(raised.value)


@pytest.mark.parametrize(
    ("status", "headers", "latin1", "ascii_only"),
    [
        (200, {"x-ok": "a\tb"}, False, False),
        (103, {}, True, True),  # interim: a client waits for the answer after it
        (200, {"x a": "1"}, True, True),  # a name that is no token
        (200, {"x-v": "caf\u00e9"}, False, True),  # Latin-1, not ASCII (Kestrel refuses it)
        (200, {"x-v": "\u65e5\u672c"}, True, True),
        (200, {"x-v": "a\x01b"}, True, True),
    ],
)
def test_unsendable_says_what_http_cannot_carry(
    status: int, headers: dict[str, str], latin1: bool, ascii_only: bool
) -> None:
    from portable_fn.adapter import unsendable
    from portable_fn.http import Headers, Response

    response = Response(status=status, headers=Headers(headers))
    assert (unsendable(response) is not None) is latin1
    assert (unsendable(response, ascii_only=True) is not None) is ascii_only


def test_unlisted_imports_reads_requirement_lines_as_pip_installs_them(tmp_path: Path) -> None:
    """A project named with extras, by ``#egg=``, or through one that requires it carries the
    import; a path or URL that names no project may install anything, so nothing is said
    (https://pip.pypa.io/en/stable/reference/requirements-file-format/)."""
    pytest.importorskip("pydantic")
    from portable_fn._import_check import unlisted_imports

    path = tmp_path / "requirements.txt"
    warned = unlisted_imports(["pydantic"], path)
    assert [w.level for w in warned] == ["warning"] and "pydantic" in warned[0].message
    lines = ["Pydantic[email]==2.*", "git+https://x.test/p.git#egg=pydantic", "./vendor/lib",
             "https://x.test/lib.whl", "lib-1.0-py3-none-any.whl",
             "-r https://x.test/requirements.txt"]
    if importlib.util.find_spec("pydantic_settings") is not None:
        lines.append("pydantic-settings")  # requires pydantic: read from its installed metadata
    for carried in lines:
        path.write_text(carried + "\n")
        assert unlisted_imports(["pydantic"], path) == [], carried
    path.write_text("--index-url https://x.test/simple\nrequests\n")
    assert len(unlisted_imports(["pydantic"], path)) == 1
    assert unlisted_imports(["pydantic"], path, provided=["pydantic"]) == []


@pytest.mark.parametrize(
    ("word", "expected"),
    [("event", "an"), ("http", "an"), ("s3", "an"), ("sqs", "an"), ("httpTrigger", "an"),
     ("queue", "a"), ("schedule", "a"), ("timerTrigger", "a"), ("eventbridge", "an")],
)
def test_the_article_in_refusals_is_the_one_read_aloud(word: str, expected: str) -> None:
    """Refusals said "a event function" and "a http event"; initialisms are spelled out."""
    assert adapter.article(word) == expected
