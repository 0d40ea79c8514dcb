"""``App(env=, secrets=)`` and ``app.secret``: names checked at declaration, values read from
the environment the platform (or the local runtime) filled."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import portable_fn as pf
from portable_fn.cli import main


def test_env_and_secrets_are_kept_read_only() -> None:
    app = pf.App("shop", env={"CURRENCY": "EUR", "PAGE_SIZE": "50"}, secrets=["STRIPE_KEY"])
    assert dict(app.env) == {"CURRENCY": "EUR", "PAGE_SIZE": "50"}
    assert app.secrets == ("STRIPE_KEY",)
    with pytest.raises(TypeError):
        app.env["CURRENCY"] = "USD"  # type: ignore[index]
    assert pf.App("bare").env == {} and pf.App("bare").secrets == ()


@pytest.mark.parametrize(
    ("env", "secrets", "says"),
    [
        ({"currency": "EUR"}, (), "upper-case"),
        ({"X": "1"}, (), "2-64"),
        ({"AWS_REGION": "eu-west-1"}, (), "platform sets itself"),
        ({"PORT": "8080"}, (), "platform sets itself"),
        ({"WEBSITE_RUN_FROM_PACKAGE": "1"}, (), "platform sets itself"),
        ({"PORTABLE_FN_IDEMPOTENCY": "x"}, (), "portable-fn's own"),
        ({"PAGE_SIZE": 50}, (), "must be a string"),
        ({"GREETING": "a\x00b"}, (), "NUL"),
        ({"GREETING": "a\ud800b"}, (), "lone surrogate"),
        (["CURRENCY"], (), "mapping"),
        ({}, "STRIPE_KEY", "got the string 'STRIPE_KEY'"),
        ({}, ["STRIPE_KEY", "STRIPE_KEY"], "declared twice"),
        ({"STRIPE_KEY": "sk"}, ["STRIPE_KEY"], "both env= and secrets="),
        ({}, ["stripe-key"], "upper-case"),
        ({}, ["K_SERVICE"], "platform sets itself"),
    ],
)
def test_bad_declarations_fail_at_construction(env: object, secrets: object, says: str) -> None:
    with pytest.raises(pf.ConfigurationError, match=says):
        pf.App("shop", env=env, secrets=secrets)  # type: ignore[arg-type]


def test_secret_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    app = pf.App("shop", secrets=["STRIPE_KEY"])
    monkeypatch.setenv("STRIPE_KEY", "sk_test_1")
    assert app.secret("STRIPE_KEY") == "sk_test_1"
    monkeypatch.setenv("STRIPE_KEY", "sk_test_2")  # rotated: read each time, never cached
    assert app.secret("STRIPE_KEY") == "sk_test_2"


def test_an_undeclared_secret_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a name the app did not declare would work locally and fail deployed, where
    nothing wires it: refused everywhere, even when the shell has it."""
    monkeypatch.setenv("OTHER_KEY", "x")
    app = pf.App("shop", secrets=["STRIPE_KEY"])
    with pytest.raises(pf.ConfigurationError, match=r"'OTHER_KEY' is not declared.*STRIPE_KEY"):
        app.secret("OTHER_KEY")


def test_an_unset_secret_raises_secret_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRIPE_KEY", raising=False)
    app = pf.App("shop", secrets=["STRIPE_KEY"])
    with pytest.raises(pf.SecretNotSet, match="secret STRIPE_KEY is not set") as caught:
        app.secret("STRIPE_KEY")
    assert isinstance(caught.value, LookupError) and caught.value.name == "STRIPE_KEY"


def test_an_unresolved_key_vault_reference_is_not_a_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Azure leaves the reference itself in the setting when it cannot resolve it
    (https://learn.microsoft.com/azure/app-service/app-service-key-vault-references)."""
    monkeypatch.setenv(
        "STRIPE_KEY", "@Microsoft.KeyVault(VaultName=shop-kv;SecretName=shop-STRIPE-KEY)"
    )
    app = pf.App("shop", secrets=["STRIPE_KEY"])
    with pytest.raises(pf.SecretNotSet, match="Key Vault reference"):
        app.secret("STRIPE_KEY")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No CURRENCY or REGION_NAME before the test, none left after it (an App writes its
    env= into this process's environment)."""
    for name in ("CURRENCY", "REGION_NAME"):
        monkeypatch.setenv(name, "x")  # registers the name with monkeypatch, which restores...
        monkeypatch.delenv(name)  # ...its absence at teardown, whatever the test set meanwhile
    return monkeypatch


def test_env_is_in_the_environment_once_the_app_exists(clean_env: pytest.MonkeyPatch) -> None:
    """As deployed, where the platform set every one before the module ran: module-level
    reads work in tests, ``package`` and ``inspect`` too."""
    pf.App("shop", env={"CURRENCY": "EUR"})
    assert os.environ["CURRENCY"] == "EUR"


def test_the_environment_s_own_value_wins(clean_env: pytest.MonkeyPatch) -> None:
    """Deployed, the platform's value (an operator's override) stands; locally, the shell's;
    and a second App in one process does not replace the first's (one environment a process)."""
    clean_env.setenv("CURRENCY", "USD")
    pf.App("shop", env={"CURRENCY": "EUR", "REGION_NAME": "eu"})
    pf.App("other", env={"REGION_NAME": "us"})
    assert (os.environ["CURRENCY"], os.environ["REGION_NAME"]) == ("USD", "eu")


def test_a_secret_like_env_name_warns_at_the_apps_line() -> None:
    with pytest.warns(UserWarning, match=r"looks like a secret.*secrets=\['DB_PASSWORD'\]") as seen:
        pf.App("shop", env={"DB_PASSWORD": "hunter2"})
    assert seen[0].filename == __file__
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pf.App("shop", env={"TOKEN_URL": "https://auth.example.com/token"})


def test_secrets_given_with_values_are_refused() -> None:
    with pytest.raises(pf.ConfigurationError, match="names only: a secret's value is never"):
        pf.App("shop", secrets={"STRIPE_KEY": "sk_live_1"})  # type: ignore[arg-type]
    assert pf.App("shop", secrets={"B_KEY", "A_KEY"}).secrets == ("A_KEY", "B_KEY")


def test_reading_a_setting_as_a_secret_says_what_it_is(clean_env: pytest.MonkeyPatch) -> None:
    app = pf.App("shop", env={"CURRENCY": "EUR"})
    with pytest.raises(pf.ConfigurationError, match=r"setting .*os.environ\['CURRENCY'\]"):
        app.secret("CURRENCY")


def test_an_empty_secret_is_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_KEY", "")
    app = pf.App("shop", secrets=["STRIPE_KEY"])
    with pytest.raises(pf.SecretNotSet, match="is empty"):
        app.secret("STRIPE_KEY")


def test_a_secret_read_at_import_says_to_read_it_in_the_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Outside an invocation is module level: ``package`` imports the app with no secret, and
    Cloudflare gives none at import."""
    monkeypatch.delenv("STRIPE_KEY", raising=False)
    app = pf.App("shop", secrets=["STRIPE_KEY"])
    with pytest.raises(pf.SecretNotSet, match="inside a handler, not when the module is"):
        app.secret("STRIPE_KEY")


APP = '''
import os
import portable_fn as pf

app = pf.App("settings", env={"CURRENCY": "EUR", "REGION_NAME": "eu"}, secrets=["API_KEY"])
CURRENCY_AT_IMPORT = os.environ["CURRENCY"]  # a module-level read, as deployed


@app.queue("jobs")
def show(event: pf.CloudEvent) -> None:
    pf.logger.info(
        "settings",
        at_import=CURRENCY_AT_IMPORT,
        region=os.environ["REGION_NAME"],
        key=app.secret("API_KEY"),
    )
'''


def test_invoke_gives_the_handler_env_and_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``portable-fn invoke`` runs the app as a deploy would: ``env`` in the environment at
    import, what the shell exported winning over it, secrets from the shell."""
    for name in ("CURRENCY", "REGION_NAME"):
        monkeypatch.setenv(name, "x")  # restored to absent at teardown, whatever invoke set
        monkeypatch.delenv(name)
    monkeypatch.setenv("REGION_NAME", "us")  # the shell's value wins
    monkeypatch.setenv("API_KEY", "k-123")
    (tmp_path / "settings_app.py").write_text(APP)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"n": 1}))
    monkeypatch.chdir(tmp_path)
    assert main(["invoke", "settings_app.py", "show", "--event", str(event)]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in (captured.out + captured.err).splitlines()
             if line.startswith("{") and '"message":"settings"' in line]
    assert [(x["at_import"], x["region"], x["key"]) for x in lines] == [("EUR", "us", "k-123")]


def test_invoke_of_an_unset_secret_fails_with_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("API_KEY", raising=False)
    monkeypatch.setenv("CURRENCY", "EUR")
    (tmp_path / "settings_app2.py").write_text(APP)
    event = tmp_path / "event.json"
    event.write_text("{}")
    monkeypatch.chdir(tmp_path)
    assert main(["invoke", "settings_app2.py", "show", "--event", str(event)]) == 1
    captured = capsys.readouterr()
    assert "secret API_KEY is not set" in captured.out + captured.err


def test_a_function_reads_only_the_secrets_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """``secrets=`` on a decorator narrows what a function gets (AWS and GCP wire only those to
    it): reading another is refused locally too, so it cannot work here and fail deployed."""
    from portable_fn.testing import invoke

    monkeypatch.setenv("STRIPE_KEY", "sk")
    monkeypatch.setenv("WEBHOOK_SECRET", "wh")
    app = pf.App("shop", secrets=["STRIPE_KEY", "WEBHOOK_SECRET"])
    seen: dict[str, str] = {}

    @app.queue("payments", secrets=["STRIPE_KEY"])
    def pay(event: pf.CloudEvent) -> None:
        seen["key"] = app.secret("STRIPE_KEY")
        app.secret("WEBHOOK_SECRET")

    @app.queue("audit")
    def audit(event: pf.CloudEvent) -> None:
        seen["both"] = app.secret("STRIPE_KEY") + app.secret("WEBHOOK_SECRET")

    assert app.function("pay").secrets == ("STRIPE_KEY",)
    assert app.function("audit").secrets == ("STRIPE_KEY", "WEBHOOK_SECRET")
    event = pf.CloudEvent(id="p-1", type="test.payment", source="/tests", data={"n": 1})
    outcome = invoke(app, "pay", event)
    assert seen["key"] == "sk" and not outcome.ok
    assert isinstance(outcome.error, pf.ConfigurationError)
    assert "'pay' is not given secret 'WEBHOOK_SECRET'" in str(outcome.error)
    assert invoke(app, "audit", event).ok and seen["both"] == "skwh"


@pytest.mark.parametrize(
    ("secrets", "says"),
    [(["OTHER_KEY"], "not the app's"), ("STRIPE_KEY", "got the string")],
)
def test_a_function_secret_the_app_lacks_is_refused_at_decoration(
    secrets: object, says: str
) -> None:
    app = pf.App("shop", secrets=["STRIPE_KEY"])
    with pytest.raises(pf.ConfigurationError, match=says):
        app.queue("payments", secrets=secrets)  # type: ignore[arg-type]


def test_a_function_s_secrets_keep_the_app_s_order() -> None:
    app = pf.App("shop", secrets=["A_KEY", "B_KEY", "C_KEY"])

    @app.queue("jobs", secrets=["C_KEY", "A_KEY", "C_KEY"])
    def job(event: pf.CloudEvent) -> None: ...

    assert app.function("job").secrets == ("A_KEY", "C_KEY")
