# SPDX-License-Identifier: Apache-2.0
"""A handler that reads a secret from ``os.environ`` and a KV binding through
``portable_fn_cloudflare.env()``, for the Worker's env tests."""

from __future__ import annotations

import os

import portable_fn as pf
import portable_fn_cloudflare

app = pf.App("env-app")


@app.http("/settings/{key}", methods=["GET"], auth="anonymous")
async def settings(req: pf.Request) -> dict[str, object]:
    kv = portable_fn_cloudflare.env().SETTINGS
    return {
        "secret": os.environ.get("API_TOKEN"),
        "json_var_in_environ": "CONFIG" in os.environ,
        "kv": await kv.get(req.path_params["key"]),
    }
