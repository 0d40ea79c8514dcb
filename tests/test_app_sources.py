"""``portable_fn.adapter.copy_app_source``: the app's own code, copied the way it imports.

Each project is written to ``tmp_path`` as a user's project lies on disk, loaded the way the CLI
loads ``APP``, and copied with each target's choices: Python files only for a Cloudflare Worker
(wrangler uploads a Python Worker's ``**/*.py``,
https://developers.cloudflare.com/workers/languages/python/examples/#modules-in-your-worker),
data files too for Azure and GCP, whose deploys upload the folder
(https://learn.microsoft.com/azure/azure-functions/functions-reference-python#folder-structure,
https://cloud.google.com/functions/docs/writing#directory-structure-python).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from portable_fn._app_sources import AppSource, Exclude
from portable_fn.adapter import copy_app_source
from portable_fn.errors import ConfigurationError
from portable_fn.testing import load_app

APP = """\
import json
from pathlib import Path

import portable_fn as pf
import srcx_pricing
from srcx_lib import units
from srcx_ns import fmt  # a namespace package: a folder without __init__.py

shop = pf.App("sources")
RATES = json.loads((Path(__file__).parent / "rates.json").read_text())
"""

PROJECT = {
    "app.py": APP,
    "rates.json": "{}\n",
    "srcx_pricing.py": "X = 1\n",
    "srcx_lib/__init__.py": "",
    "srcx_lib/units.py": "UNIT = 'EUR'\n",
    "srcx_lib/data/table.json": "{}\n",
    "srcx_ns/fmt.py": "X = 1\n",
    "README.md": "# the project\n",
    "CHANGELOG.rst": "1.0\n",
    "srcx_lib/data/README.md": "# data the app may read: kept\n",
    "srcx_lib/README.md": "# a package's documentation: left out\n",
    # What lies around in a project and never ships.
    ".venv/pyvenv.cfg": "home = /usr/bin\n",
    "env2/pyvenv.cfg": "home = /usr/bin\n",
    "env2/lib/site.py": "",
    "tests/test_app.py": "",
    "test_app.py": "",
    "conftest.py": "",
    "__pycache__/app.cpython-311.pyc": "",
    "node_modules/x/index.js": "",
    "build/lib/app.py": "",
    "srcx.egg-info/PKG-INFO": "",
    ".env": "SECRET=1\n",
    # Azure Functions Core Tools' local settings: secrets by design, never published.
    "local.settings.json": '{"Values": {"STRIPE_KEY": "sk_live_1"}}',
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def files_in(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "project"
    write(root, PROJECT)
    yield root
    for name in [m for m in sys.modules if m.startswith(("srcx_", "_portable_fn_app_"))]:
        del sys.modules[name]
    if str(getattr(sys.modules.get("app"), "__file__", "")).startswith(str(root)):
        del sys.modules["app"]  # the app file, imported as its siblings import it
    if str(root) in sys.path:
        sys.path.remove(str(root))


def test_a_file_app_with_data_files(project: Path, tmp_path: Path) -> None:
    ref = str(project / "app.py")
    out = tmp_path / "azure"
    source = copy_app_source(load_app(ref), ref, out, provider="azure",
                             reserved={"function_app"}, out_dir=out)
    assert (source.module, source.attribute, source.folder) == ("app", "shop", project)
    assert source.findings == ()
    # The project's README is documentation, never read at run time: left out (a deployment
    # package carries code and the data it reads; Chalice ships app.py and chalicelib/ only).
    assert files_in(out) == {
        "app.py", "rates.json", "srcx_pricing.py", "srcx_lib/__init__.py",
        "srcx_lib/units.py", "srcx_lib/data/table.json", "srcx_lib/data/README.md",
        "srcx_ns/fmt.py",
    }


def _copied(root: Path, out: Path, provider: str) -> AppSource:
    """``copy_app_source`` of ``root/app.py`` into ``out``, the app's module unloaded after."""
    ref = str(root / "app.py")
    try:
        return copy_app_source(load_app(ref), ref, out, provider=provider, reserved=set(),
                               out_dir=out)
    finally:
        sys.modules.pop("app", None)
        if str(root) in sys.path:
            sys.path.remove(str(root))


def test_an_env_file_giving_a_declared_secret_is_not_packaged(tmp_path: Path) -> None:
    """docs/cli.md recommends ``--env-file FILE`` for local secret values; a ``local.env``
    beside the app went into every artifact, the live key with it, with no word. An env file
    that gives a declared secret a value is left out, with a warning; other files stay."""
    root = tmp_path / "secretproj"
    write(root, {
        "app.py": 'import portable_fn as pf\n\nshop = pf.App("s", secrets=["STRIPE_KEY"])\n',
        "local.env": "# local values\nexport STRIPE_KEY=sk_live_123\nDEBUG=1\n",
        "config/prod.env": "STRIPE_KEY = sk_live_456\n",
        "defaults.env": "STRIPE_KEY=\nREGION=eu\n",  # no value: nothing secret in it
        "notes.txt": "set STRIPE_KEY in the console\n",
    })
    out = tmp_path / "gcp"
    source = _copied(root, out, "gcp")
    assert files_in(out) == {"app.py", "defaults.env", "notes.txt"}
    warned = sorted(f.message.split(" ")[0] for f in source.findings if f.level == "warning")
    assert warned == ["config/prod.env", "local.env"], source.findings


def test_keys_credentials_and_links_out_of_the_project_are_not_packaged(tmp_path: Path) -> None:
    """A deployed package is readable by whoever may read the function (lambda:GetFunction,
    the GCP source bucket): a private key, a service-account key, an AWS credentials file or
    Terraform state beside the app went into it, and so did a symlink's target out of the
    project (``aws-creds -> ~/.aws``). Left out with a warning; a public certificate stays."""
    home = tmp_path / "home"
    write(home, {"credentials": "[default]\naws_secret_access_key = AKIAFAKE\n"})
    root = tmp_path / "keyproj"
    write(root, {
        "app.py": 'import portable_fn as pf\n\nshop = pf.App("k")\n',
        "server.pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n",
        "ca.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "keys/sa.json": json.dumps({"type": "service_account", "private_key": "-----BEGIN"}),
        "infra/terraform.tfstate": "{}",
        "data.json": json.dumps({"prices": [1, 2]}),
    })
    (root / "aws-creds").symlink_to(home, target_is_directory=True)
    (root / "shared.json").symlink_to(home / "credentials")
    (root / "inside.json").symlink_to(root / "data.json")  # within the project: followed
    out = tmp_path / "aws"
    source = _copied(root, out, "aws")
    assert files_in(out) == {"app.py", "ca.pem", "data.json", "inside.json"}
    warned = sorted(f.message.split(" ")[0] for f in source.findings if f.level == "warning")
    assert warned == ["aws-creds", "infra/terraform.tfstate", "keys/sa.json", "server.pem",
                      "shared.json"], source.findings


def test_an_earlier_package_beside_the_app_is_not_packaged(tmp_path: Path) -> None:
    """`package --out azure-pkg` then `--out gcp-pkg`: the GCP upload held the Azure package,
    its app.zip included. A folder holding a package of any target is left out, with a
    warning; a folder of the app's own is not."""
    root = tmp_path / "pkgproj"
    write(root, {
        "app.py": 'import portable_fn as pf\n\nshop = pf.App("p")\n',
        "azure-pkg/function_app.py": "", "azure-pkg/host.json": "{}",
        "aws-out/template.yaml": "", "aws-out/app.zip": "",
        "cf/wrangler.toml": "", "cf/src/entry.py": "",
        "gcp-pkg/main.py": "", "gcp-pkg/deploy.sh": "",
        "config/host.json": "{}",  # one mark alone: the app's data
    })
    out = tmp_path / "out"
    source = _copied(root, out, "gcp")
    assert files_in(out) == {"app.py", "config/host.json"}
    warned = sorted(f.message.split(" ")[0] for f in source.findings if f.level == "warning")
    assert warned == ["aws-out", "azure-pkg", "cf", "gcp-pkg"], source.findings


def test_a_file_app_python_only(project: Path, tmp_path: Path) -> None:
    ref = str(project / "app.py") + ":shop"
    out = tmp_path / "cf"
    source = copy_app_source(load_app(ref), ref, out / "src", provider="cloudflare",
                             reserved={"entry"}, python_only=True, out_dir=out)
    assert (source.module, source.attribute) == ("app", "shop")
    assert files_in(out / "src") == {
        "app.py", "srcx_pricing.py", "srcx_lib/__init__.py", "srcx_lib/units.py",
        "srcx_ns/fmt.py",
    }


def test_the_output_folder_inside_the_project_is_not_copied(project: Path) -> None:
    ref = str(project / "app.py")
    out = project / "worker-out"  # not a name the skip rules know: it is the output folder
    app = load_app(ref)
    for _ in range(2):
        copy_app_source(app, ref, out, provider="gcp", reserved={"main"}, out_dir=out)
    assert not (out / "worker-out").exists()


def test_reserved_names(project: Path, tmp_path: Path) -> None:
    write(project, {"main.py": "X = 1\n", "function_app.py": "X = 1\n"})
    ref = str(project / "app.py")
    app = load_app(ref)
    out = tmp_path / "gcp"
    source = copy_app_source(app, ref, out, provider="gcp", reserved={"main"}, out_dir=out)
    assert not (out / "main.py").exists() and (out / "function_app.py").is_file()
    [note] = source.findings
    assert note.level == "warning" and "main.py" in note.message
    with pytest.raises(ConfigurationError, match="'app' on azure"):
        copy_app_source(app, ref, tmp_path / "azure", provider="azure", reserved={"app"})


def test_a_module_in_a_package_copies_the_outermost_package(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root, {
        "srcx_shop/__init__.py": "",
        "srcx_shop/api/__init__.py": "",
        "srcx_shop/api/app.py": "import portable_fn as pf\nfrom srcx_shop.common import m\n"
                                "api = pf.App('nested')\n",
        "srcx_shop/api/x.json": "{}\n",
        "srcx_shop/common/__init__.py": "",
        "srcx_shop/common/m.py": "",
        "srcx_shop/tests/test_api.py": "",
        "other.py": "",  # beside the package, not in it
    })
    sys.path.insert(0, str(root))
    try:
        app = importlib.import_module("srcx_shop.api.app").api
        seen: list[tuple[str, bool]] = []

        def excluder(folder: Path) -> Exclude:
            assert folder == root  # the folder whose contents land at the package's root

            def exclude(relative: str, is_dir: bool) -> bool:
                seen.append((relative, is_dir))
                return relative == "srcx_shop/common/m.py"

            return exclude

        out = tmp_path / "out"
        source = copy_app_source(app, "srcx_shop.api.app", out, provider="gcp",
                                 reserved=(), excluder=excluder)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("srcx_")]:
            del sys.modules[name]
    assert (source.module, source.attribute) == ("srcx_shop.api.app", "api")
    assert source.folder == root / "srcx_shop" / "api"
    assert files_in(out) == {
        "srcx_shop/__init__.py", "srcx_shop/api/__init__.py", "srcx_shop/api/app.py",
        "srcx_shop/api/x.json", "srcx_shop/common/__init__.py",
    }
    assert ("srcx_shop/common", True) in seen and ("srcx_shop/api/x.json", False) in seen


def test_an_app_not_bound_in_its_module_needs_its_attribute(project: Path,
                                                            tmp_path: Path) -> None:
    import portable_fn as pf

    ref = str(project / "app.py")
    load_app(ref)
    with pytest.raises(ConfigurationError, match="app:ATTRIBUTE"):
        copy_app_source(pf.App("elsewhere"), ref, tmp_path / "out", provider="gcp",
                        reserved=())


def test_importing_the_core_does_not_load_the_packager() -> None:
    code = ("import json, sys, portable_fn, portable_fn.adapter\n"
            "print(json.dumps('portable_fn._app_sources' in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert json.loads(done.stdout) is False
