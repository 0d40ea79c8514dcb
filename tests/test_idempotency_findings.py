"""Every installed adapter says where an idempotent function's records live on its provider."""

from __future__ import annotations

import pytest

import portable_fn as pf
from portable_fn.adapter import idempotency_findings


def test_idempotency_findings_name_each_idempotent_function() -> None:
    app = pf.App("idem")

    @app.queue("jobs", idempotent=True)
    def job(event: pf.CloudEvent) -> None: ...

    @app.queue("other")
    def other(event: pf.CloudEvent) -> None: ...

    (finding,) = idempotency_findings(app, level="warning", note="use redis")
    assert (finding.function, finding.level, finding.message) == ("job", "warning",
                                                                  "idempotent: use redis")
    with pytest.raises(ValueError):
        idempotency_findings(app, level="loud", note="x")
