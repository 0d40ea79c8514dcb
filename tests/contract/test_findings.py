"""Each installed adapter that does not provision an idempotency store says so (AWS creates a
DynamoDB table in its template instead; adapters/aws/tests/test_aws_target.py checks it)."""

from __future__ import annotations

import pytest

import portable_fn as pf
from portable_fn.adapter import installed_adapters

WITHOUT_A_PROVISIONED_STORE = sorted(set(installed_adapters()) & {"azure", "gcp", "cloudflare"})


@pytest.mark.parametrize("provider", WITHOUT_A_PROVISIONED_STORE or ["none installed"])
def test_idempotent_functions_get_a_store_finding(provider: str) -> None:
    if provider == "none installed":
        assert installed_adapters().keys().isdisjoint({"azure", "gcp", "cloudflare"})
        return
    app = pf.App("idem")

    @app.queue("jobs", idempotent=True)
    def job(event: pf.CloudEvent) -> None: ...

    adapter = installed_adapters()[provider].load()
    messages = [f.message for f in adapter.findings(app) if f.function == "job"]
    assert any(m.startswith("idempotent:") for m in messages), messages
