# SPDX-License-Identifier: Apache-2.0
"""``App(env=, secrets=)`` on Azure: ``local.settings.json`` ``Values`` (what ``func start``
reads and ``func azure functionapp publish --publish-local-settings`` uploads, per
https://learn.microsoft.com/azure/azure-functions/functions-core-tools-reference), secrets as
Key Vault references (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references)
or left to be set by hand, and the findings that say what the deploy must do."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from portable_fn import App
from portable_fn.adapter import Finding
from portable_fn.errors import ConfigurationError
from portable_fn.testing import RecordingPublisher
from test_azure_target import INDEX

from portable_fn_azure import AzureOptions
from portable_fn_azure.adapter import AzureAdapter
from portable_fn_azure.app_settings import KEY_VAULT_ENV
from portable_fn_azure.findings import findings
from portable_fn_azure.target import local_settings

SOURCE = """\
import portable_fn as pf

app = pf.App("shop", env={"CURRENCY": "EUR", "GREETING": "it's on; (really)"},
             secrets=["STRIPE_KEY", "DB_PASSWORD"])

@app.http("/pay", auth="anonymous")
def pay(req):
    return {"currency": __import__("os").environ["CURRENCY"]}

@app.queue("orders")
def order(event):
    app.secret("STRIPE_KEY")
"""


@pytest.fixture(autouse=True)
def _no_vault_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VAULT_ENV, raising=False)


def _app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str = SOURCE,
         module: str = "settings_shop") -> tuple[App, Path]:
    app_file = tmp_path / "src" / f"{module}.py"
    app_file.parent.mkdir(exist_ok=True)
    app_file.write_text(source)
    monkeypatch.syspath_prepend(str(app_file.parent))
    app: App = importlib.import_module(module).app
    app.use_publisher(RecordingPublisher())
    return app, app_file


def _values(app: App, options: AzureOptions) -> dict[str, str]:
    values: dict[str, str] = local_settings(app, options)["Values"]
    return values


def test_env_goes_into_values_and_secrets_stay_out_without_a_vault(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = _app(tmp_path, monkeypatch)
    values = _values(app, AzureOptions())
    assert values["CURRENCY"] == "EUR"
    assert values["GREETING"] == "it's on; (really)"
    assert "STRIPE_KEY" not in values and "DB_PASSWORD" not in values
    # The adapter's own settings are still there, untouched.
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"


def test_with_a_vault_each_secret_is_a_key_vault_reference(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Secret names take letters, digits and '-' only: '_' becomes '-', the app name prefixes
    (https://learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates)."""
    app, _ = _app(tmp_path, monkeypatch)
    values = _values(app, AzureOptions(key_vault="kv-shop"))
    assert values["STRIPE_KEY"] == (
        "@Microsoft.KeyVault(VaultName=kv-shop;SecretName=shop-STRIPE-KEY)")
    assert values["DB_PASSWORD"] == (
        "@Microsoft.KeyVault(VaultName=kv-shop;SecretName=shop-DB-PASSWORD)")
    assert values["CURRENCY"] == "EUR"


def test_the_vault_comes_from_the_environment_and_the_option_wins(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = _app(tmp_path, monkeypatch)
    monkeypatch.setenv(KEY_VAULT_ENV, "kv-from-env")
    assert "VaultName=kv-from-env;" in _values(app, AzureOptions())["STRIPE_KEY"]
    assert "VaultName=kv-option;" in _values(app, AzureOptions(key_vault="kv-option"))[
        "STRIPE_KEY"]


@pytest.mark.parametrize("vault", ["kv", "1vault", "vault-", "my--vault", "my_vault",
                                   "a" * 25])
def test_a_vault_name_azure_refuses_is_refused(
        vault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Vault names: 3-24 letters, digits and single '-', a letter first, no '-' last
    (resource-name-rules#microsoftkeyvault)."""
    app, _ = _app(tmp_path, monkeypatch)
    with pytest.raises(ConfigurationError, match="Key Vault name"):
        _values(app, AzureOptions(key_vault=vault))


def test_findings_without_a_vault_warn_and_name_the_app_settings_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = _app(tmp_path, monkeypatch)
    found = [f for f in findings(app, AzureOptions()) if "secret" in f.message
             or "app settings" in f.message]
    [upload] = [f for f in found if f.message.startswith("app settings")]
    assert upload.level == "info" and upload.function is None
    assert "--publish-local-settings" in upload.message
    # Values quoted for a shell: the greeting has a quote, ';' and parentheses.
    assert "--settings CURRENCY=EUR 'GREETING=it'\"'\"'s on; (really)'" in upload.message
    [warning] = [f for f in found if f.level == "warning"]
    assert warning.function is None
    assert "STRIPE_KEY, DB_PASSWORD" in warning.message
    assert ("az functionapp config appsettings set --name <function app> --resource-group "
            "<resource group> --settings STRIPE_KEY=... DB_PASSWORD=...") in warning.message
    assert KEY_VAULT_ENV in warning.message


def test_findings_with_a_vault_name_the_identity_and_each_secret_to_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = _app(tmp_path, monkeypatch)
    found = findings(app, AzureOptions(key_vault="kv-shop"))
    assert not [f for f in found if f.level == "warning" and "secret" in f.message]
    [vault] = [f for f in found if "Key Vault references" in f.message]
    assert vault.level == "info" and vault.function is None
    assert "managed identity" in vault.message and "'Key Vault Secrets User'" in vault.message
    assert "Get secret permission" in vault.message
    assert ("az keyvault secret set --vault-name kv-shop --name shop-STRIPE-KEY --value ..."
            in vault.message)
    assert ("az keyvault secret set --vault-name kv-shop --name shop-DB-PASSWORD --value ..."
            in vault.message)
    [upload] = [f for f in found if f.message.startswith("app settings")]
    assert ("'STRIPE_KEY=@Microsoft.KeyVault(VaultName=kv-shop;SecretName=shop-STRIPE-KEY)'"
            in upload.message)


def test_an_app_without_env_or_secrets_gets_no_settings_findings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = _app(tmp_path, monkeypatch, SOURCE.replace(
        'env={"CURRENCY": "EUR", "GREETING": "it\'s on; (really)"},\n'
        '             secrets=["STRIPE_KEY", "DB_PASSWORD"]', ""), module="plain_shop")
    assert app.env == {} and app.secrets == ()
    assert not [f for f in findings(app, AzureOptions(key_vault="kv-shop"))
                if "app settings" in f.message or "secret" in f.message]


COLLIDING = """\
import portable_fn as pf

app = pf.App("shop", env={"PAYMENTSBUS": "x"}, secrets=["EVENTGRID_BUS_KEY"])

@app.queue("orders")
def order(event):
    pass

@app.event("order.placed")
def placed(event):
    pass
"""


def test_a_name_the_adapter_writes_is_refused_ignoring_case(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Service Bus connection named PaymentsBus and env PAYMENTSBUS are one setting to the
    host (.NET configuration keys ignore case) and to Core Tools' upload; EVENTGRID_BUS_KEY is
    the key pf.emit publishes with. Refused before anything is written, and reported."""
    app, app_file = _app(tmp_path, monkeypatch, COLLIDING, module="colliding_shop")
    options = AzureOptions(queues="servicebus", servicebus_connection="PaymentsBus")
    out = tmp_path / "out"
    with pytest.raises(ConfigurationError) as raised:
        AzureAdapter(options).package(app, str(app_file), out)
    assert "PAYMENTSBUS" in str(raised.value) and "PaymentsBus" in str(raised.value)
    assert "EVENTGRID_BUS_KEY" in str(raised.value)
    assert not out.exists()
    unsupported = [f.message.split(" ")[0] for f in findings(app, options)
                   if f.level == "unsupported"]
    assert unsupported == ["PAYMENTSBUS", "EVENTGRID_BUS_KEY"]
    # With the default connection name there is nothing to collide with but the Event Grid key.
    assert [f.message.split(" ")[0] for f in findings(app, AzureOptions())
            if f.level == "unsupported"] == ["EVENTGRID_BUS_KEY"]


def test_the_package_carries_the_settings_and_still_indexes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real artifact: local.settings.json on disk with env and references, no secret value
    anywhere in the folder, the vault out of function_app.py, and the function app indexed by
    azure.functions in a fresh interpreter."""
    app, app_file = _app(tmp_path, monkeypatch)
    monkeypatch.setenv("STRIPE_KEY", "sk_live_never_written")
    monkeypatch.setenv(KEY_VAULT_ENV, "kv-shop")
    out = tmp_path / "out"
    found = AzureAdapter().package(app, str(app_file), out)
    values = json.loads((out / "local.settings.json").read_text())["Values"]
    assert values["CURRENCY"] == "EUR"
    assert values["STRIPE_KEY"] == (
        "@Microsoft.KeyVault(VaultName=kv-shop;SecretName=shop-STRIPE-KEY)")
    entry = (out / "function_app.py").read_text()
    assert "key_vault" not in entry and "app = function_app(portable_app)" in entry
    assert "local.settings.json" not in zipfile.ZipFile(out / "app.zip").namelist()
    for path in out.rglob("*"):
        if path.is_file():
            assert b"sk_live_never_written" not in path.read_bytes(), path
    assert any("Key Vault references" in f.message for f in found)
    done = subprocess.run([sys.executable, "-c", INDEX, str(out)], cwd=out,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout.strip().splitlines()[-1])) == {
        "pay", "order", "portable_fn_fallback"}


def test_the_vault_option_is_an_option_like_the_others() -> None:
    options = AzureOptions(key_vault="kv-shop")
    assert options.changed() == {"key_vault": "kv-shop"}
    assert options == AzureOptions(key_vault="kv-shop") != AzureOptions()
    assert repr(options) == "AzureOptions(key_vault='kv-shop')"
    with pytest.raises(AttributeError):
        options.key_vault = "other"  # type: ignore[misc]


NARROWED = SOURCE.replace('@app.queue("orders")', '@app.queue("orders", secrets=["STRIPE_KEY"])')


def _narrowing(found: list[Finding]) -> list[Finding]:
    return [f for f in found if "app.secret" in f.message]


@pytest.mark.parametrize("vault", [None, "kv-shop"])
def test_a_function_given_fewer_secrets_is_told_azure_gives_it_every_one(
        vault: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """App settings are the function app's: every function reads every one
    (https://learn.microsoft.com/azure/azure-functions/functions-app-settings), so a
    decorator's ``secrets=`` is enforced by ``app.secret`` alone: one app-level note."""
    app, _ = _app(tmp_path, monkeypatch, NARROWED, module="narrowed_shop")
    assert app.function("order").secrets == ("STRIPE_KEY",)
    [note] = _narrowing(findings(app, AzureOptions(key_vault=vault)))
    assert (note.function, note.level) == (None, "info")
    assert "order" in note.message and "every" in note.message


def test_no_narrowing_no_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = _app(tmp_path, monkeypatch)
    assert not _narrowing(findings(app, AzureOptions(key_vault="kv-shop")))
    # A function naming all of the app's secrets narrows nothing.
    every = SOURCE.replace('@app.queue("orders")',
                           '@app.queue("orders", secrets=["DB_PASSWORD", "STRIPE_KEY"])')
    app, _ = _app(tmp_path, monkeypatch, every, module="every_secret_shop")
    assert not _narrowing(findings(app, AzureOptions()))
