# SPDX-License-Identifier: Apache-2.0
"""``App(env=, secrets=)`` on Workers: vars in wrangler.toml, secrets put by the operator.

- ``env`` becomes ``[vars]``: plain text values on the Worker's ``env``
  (https://developers.cloudflare.com/workers/configuration/environment-variables/).
- A secret's value is never written: ``npx wrangler secret put NAME`` stores it, and
  ``wrangler dev`` reads it from ``.dev.vars`` (or ``.env``) beside wrangler.toml
  (https://developers.cloudflare.com/workers/configuration/secrets/,
  https://developers.cloudflare.com/workers/local-development/environment-variables/). The
  names go in ``[secrets] required``: ``wrangler deploy`` then fails while one is not set,
  instead of a handler's ``SecretNotSet`` later
  (https://developers.cloudflare.com/changelog/2026-03-24-secrets-config-property/; in the
  schema of the wrangler the tests pin).
- Vars, secrets and bindings share one ``env`` object, so a name is one binding: a user name
  equal to a producer (``Q_*``) or R2 (``R2_*``) binding the adapter writes is refused by
  ``package`` and reported by ``inspect``, both from ``clashes``.
- Secrets are the Worker's, and the app is one Worker: every handler gets the same ``env``
  (https://developers.cloudflare.com/workers/configuration/secrets/, "per-Worker"), so a
  decorator's ``secrets=`` is enforced by ``app.secret`` alone, which a finding says.
- Limits (https://developers.cloudflare.com/workers/platform/limits/#environment-variables):
  5 KB a variable, 64 per Worker on Workers Free, 128 on Paid.
"""

from __future__ import annotations

from typing import Any

from portable_fn.adapter import Finding, app_wide_secrets_findings
from portable_fn.app import App
from portable_fn.errors import ConfigurationError

MAX_VALUE_BYTES = 5 * 1024
MAX_VARS_FREE, MAX_VARS_PAID = 64, 128


def secret_command(name: str) -> str:
    return f"npx wrangler secret put {name}"


def clashes(app: App, cfg: dict[str, Any]) -> list[str]:
    """Why each user name one of the config's bindings takes cannot be: what ``package``
    refuses (``check``) and ``inspect`` reports (``findings``), in the same words."""
    bindings: dict[str, str] = {}
    for producer in cfg.get("queues", {}).get("producers", []):
        bindings[producer["binding"]] = f"the producer binding of queue {producer['queue']!r}"
    for bucket in cfg.get("r2_buckets", []):
        bindings[bucket["binding"]] = f"the binding of R2 bucket {bucket['bucket_name']!r}"
    return [
        f"{kind} {name} has the name of {bindings[name]} on Cloudflare: vars, secrets and "
        "bindings share the Worker's env, one name each (the adapter names queue producers "
        "Q_<QUEUE> and R2 buckets R2_<BUCKET>): rename it"
        for kind, names in (("env", list(app.env)), ("secret", list(app.secrets)))
        for name in names
        if name in bindings
    ]


def check(app: App, cfg: dict[str, Any]) -> None:
    """Refuse a name one of the config's bindings takes (the core refuses values no
    environment can hold: NUL, a lone surrogate)."""
    found = clashes(app, cfg)
    if found:
        raise ConfigurationError(found[0])


def findings(app: App) -> list[Finding]:
    """How each secret gets its value, and what the Workers limits and bindings refuse."""
    # Imported here: wrangler imports findings, which imports this module.
    from portable_fn_cloudflare import wrangler

    out = [
        Finding(
            None, "info",
            f"secret {name}: set it with `{secret_command(name)}` before `npx wrangler "
            "deploy` (wrangler.toml lists it under [secrets] required, so deploy fails until "
            f"it is set); for `wrangler dev`, put {name}=... in .dev.vars beside wrangler.toml",
        )
        for name in app.secrets
    ]
    out.extend(app_wide_secrets_findings(
        app, provider="Cloudflare", separate="a separate Worker",
        why="the app is one Worker and its secrets are the Worker's"))
    out.extend(Finding(None, "unsupported", why) for why in clashes(app, wrangler.config(app)))
    too_big = [n for n, v in app.env.items() if len(v.encode("utf-8", "replace")) > MAX_VALUE_BYTES]
    if too_big:
        out.append(Finding(
            None, "unsupported",
            f"env {', '.join(too_big)}: Workers take at most 5 KB a variable; wrangler deploy "
            "refuses a larger one",
        ))
    count = len(app.env) + len(app.secrets)
    if count > MAX_VARS_PAID:
        out.append(Finding(
            None, "unsupported",
            f"{count} env values and secrets: a Worker takes at most {MAX_VARS_PAID} "
            "environment variables (Workers Paid)",
        ))
    elif count > MAX_VARS_FREE:
        out.append(Finding(
            None, "warning",
            f"{count} env values and secrets: more than the {MAX_VARS_FREE} environment "
            f"variables Workers Free allows a Worker (Paid allows {MAX_VARS_PAID})",
        ))
    return out
