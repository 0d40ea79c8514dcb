"""``portable_fn.adapter`` helpers the packaging targets share."""

from __future__ import annotations

from pathlib import Path

from portable_fn.adapter import app_requirements


def test_app_requirements_keeps_what_the_target_must_install(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    assert app_requirements(path) == []  # no file, nothing to add
    path.write_text(
        "# the app's own\nhttpx>=0.27  # client\n\nportable-fn[gcp]\nPortable_FN_aws\n"
        "Functions_Framework==3.0\nrequests\n"
    )
    assert app_requirements(path) == ["httpx>=0.27", "Functions_Framework==3.0", "requests"]
    assert app_requirements(path, skip=("functions-framework",)) == ["httpx>=0.27", "requests"]
