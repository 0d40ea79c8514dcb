# SPDX-License-Identifier: Apache-2.0
"""An app with ``env=`` and ``secrets=`` whose handler reports what it reads, for the Worker's
settings tests (``test_cf_settings.py``). Values hold every character TOML must escape."""

from __future__ import annotations

import os

import portable_fn as pf

ENV = {
    "CURRENCY": "EUR",
    "QUOTED": 'say "hi" \'there\'',
    "WINDOWS_PATH": "C:\\Users\\pf\\",
    "LINES": "one\ntwo\r\nthree\ttab",
    "UNICODE": "€ naïve 日本 😀 \u00a0\u2028 \u200b",
    "CONTROLS": "\x01\x1b[0m\x7f\x85",
    "TOML_LOOKALIKE": '"""\n[vars]\nX = "y"\n',
    "EMPTY": "",
}

app = pf.App("settings-app", env=ENV, secrets=["API_KEY"])

# Read at import, as module-level configuration code does.
CURRENCY_AT_IMPORT = os.environ.get("CURRENCY")


@app.http("/settings", methods=["GET"], auth="anonymous")
def settings(req: pf.Request) -> dict[str, object]:
    return {
        "env": {name: os.environ.get(name) for name in ENV},
        "api_key": app.secret("API_KEY"),
        "currency_at_import": CURRENCY_AT_IMPORT,
    }
