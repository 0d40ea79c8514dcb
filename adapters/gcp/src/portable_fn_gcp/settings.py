# SPDX-License-Identifier: Apache-2.0
"""``App(env=, secrets=)`` in ``deploy.sh``: every function's ``--set-env-vars`` and secrets flag.

Settings: ``--set-env-vars`` is a gcloud dict flag, split on commas unless it begins with
``^DELIM^``, then on DELIM, each item at its first ``=``
(https://cloud.google.com/sdk/gcloud/reference/topic/escaping). DELIM is chosen here so that
the list splits back into exactly the app's items (``delimiter``); the values are written into
the script with ``shlex.quote``, so the shell passes them on as they are. The flag replaces all
of a function's variables ("All existing environment variables will be removed first",
https://cloud.google.com/sdk/gcloud/reference/functions/deploy): a setting the app dropped goes.

Secrets: ``--set-secrets NAME=SECRET:VERSION`` makes a Secret Manager secret an environment
variable, resolved when an instance starts, so a new version reaches new instances only
(https://cloud.google.com/functions/docs/configuring/secrets,
https://cloud.google.com/run/docs/configuring/services/secrets); the function's runtime service
account needs ``roles/secretmanager.secretAccessor``, and the deploy fails if it cannot read one.
The secret is ``${SECRET_PREFIX}NAME``, ``<app>-NAME`` by default: a secret ID is at most 255 of
``[A-Za-z0-9_-]`` (https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets/create).
Secrets are set per function (least privilege): each deploy names only its function's
``secrets=`` (``Function.secrets``; the app's when the decorator gives none), in its own
deploy line (``flags``). ``--set-secrets`` overwrites a function's secrets, but with no secrets
flag gcloud keeps those it had, so a function given none deploys with ``--clear-secrets``
("Remove all secret environment variables and volumes", same reference). The header
(``script``) checks the prefix and that each secret some function is given exists, before
anything deploys.

Refused (``bucket_clash``): an app name equal to the ``BUCKET_<NAME>`` deploy.sh gives a storage
function (its bucket's real name, ``storage``), which would be a second item of that name in
the function's ``--set-env-vars``.
"""

from __future__ import annotations

from itertools import count, product
from shlex import quote
from typing import TYPE_CHECKING

from portable_fn.adapter import Finding, secrets_given
from portable_fn.errors import ConfigurationError

from portable_fn_gcp.names import bucket_var

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from portable_fn.app import App

__all__ = ["SEPARATORS", "bucket_clash", "delimiter", "findings", "flags", "script"]

# Candidate delimiter characters: none can be in a name ([A-Z0-9_]), in '=', or in what
# deploy.sh adds itself (a project ID, a bucket name: [a-z0-9._-]), and not '^', which would end
# the ^DELIM^ prefix early.
SEPARATORS = ("|", "~", ";", "@", "#", "%", "+", ":", "!", "*")
SECRET_ID_MAX = 255
# Stand-ins for what deploy.sh puts first and last (project, bucket): none holds a SEPARATOR.
_OWN_FIRST, _OWN_LAST = "GOOGLE_CLOUD_PROJECT=p", "BUCKET_B=b"


def findings(app: App) -> list[Finding]:
    names = secrets_given(app)
    if not names:
        return []
    ids = ", ".join(f"{app.name}-{name}" for name in names)
    return [Finding(None, "info", (
        f"secrets come from Secret Manager secrets {ids} (deploy.sh's SECRET_PREFIX, default "
        f"'{app.name}-'), latest version, read when an instance starts: create them and grant "
        "the functions' runtime service account roles/secretmanager.secretAccessor before "
        "running deploy.sh, which stops at a missing one"))]


def bucket_clash(app: App, function: str, bucket: str) -> ConfigurationError | None:
    """Why the storage function ``function`` on ``bucket`` cannot deploy with the app's
    settings, if it cannot: one of them is named as deploy.sh's ``BUCKET_<NAME>`` for it."""
    name = bucket_var(bucket)
    if name not in app.env and name not in app.secrets:
        return None
    return ConfigurationError(
        f"{name} in the app's env/secrets is also the variable deploy.sh sets on this function "
        "(its bucket's real name): rename it", function=function)


def delimiter(items: Sequence[str]) -> str:
    """The shortest DELIM (from ``SEPARATORS``) by which gcloud splits ``^DELIM^`` + the items
    joined with it back into exactly ``items``, with deploy.sh's own variables around them."""
    every = [_OWN_FIRST, *items, _OWN_LAST]
    # Ends: "|" then only "~" longer than the list occurs nowhere but where it was put.
    return next(d for d in _candidates() if _split(d.join(every), d) == every)


def _candidates() -> Iterator[str]:
    for length in count(1):
        for chars in product(SEPARATORS, repeat=length):
            yield "".join(chars)


def _split(joined: str, delim: str) -> list[str]:
    # gcloud's list split: a trailing delimiter is added unless there, then the last field dropped.
    return (joined if joined.endswith(delim) else joined + delim).split(delim)[:-1]


def flags(secrets: Sequence[str]) -> list[str]:
    """A function's secrets flag, as deploy.sh text: ``--set-secrets`` with a reference per
    secret it is given (``${SECRET_PREFIX}``, set and checked by ``script``), else
    ``--clear-secrets``, so a redeploy takes away what the function is no longer given. One
    word with its value, so a wrapped deploy line keeps the two together."""
    if not secrets:
        return ["--clear-secrets"]
    refs = ",".join(f"{name}=${{SECRET_PREFIX}}{name}:latest" for name in secrets)
    return [f'--set-secrets "{refs}"']


def script(app: str, env: Sequence[tuple[str, str]], secrets: Sequence[str]) -> str:
    """deploy.sh's settings block for app ``app``: ``ENV_DELIM``, ``FUNCTION_ENV`` (every
    function's variables but the bucket ones) and, for ``secrets`` (those some function is
    given), ``SECRET_PREFIX`` and a check that each exists, before any deploy. Each deploy
    line carries its function's own secrets flag (``flags``)."""
    items = [f"{name}={value}" for name, value in env]
    lines = [
        "",
        "# Every function's environment: the project, then the app's settings (App(env=...)) as",
        "# written. --set-env-vars replaces all a function had; gcloud splits it on ENV_DELIM, a",
        "# string no value holds (gcloud topic escaping).",
        f"ENV_DELIM={quote(delimiter(items))}",
        "# Single-quoted: a $ or ` in a value is part of it, never expanded.",
        "# shellcheck disable=SC2016",
        "FUNCTION_ENV=(",
        '  "GOOGLE_CLOUD_PROJECT=$PROJECT"',
        *(f"  {quote(item)}" for item in items),
        ")",
    ]
    if not secrets:
        return "\n".join(lines) + "\n"
    room = SECRET_ID_MAX - max(len(name) for name in secrets)
    lines += [
        "",
        "# The app's secrets (App(secrets=...)): Secret Manager secret ${SECRET_PREFIX}NAME, its",
        "# latest version read when an instance starts; each function is deployed with only",
        "# those it is given (its --set-secrets). The functions' runtime service account",
        "# (default: the compute account) needs roles/secretmanager.secretAccessor on each.",
        f'SECRET_PREFIX="${{SECRET_PREFIX:-{app}-}}"',
        f"if [[ ! \"$SECRET_PREFIX\" =~ ^[A-Za-z0-9_-]{{0,{room}}}$ ]]; then",
        f'  echo "deploy.sh: SECRET_PREFIX begins secret IDs: at most {room} of A-Za-z0-9_-" >&2',
        "  exit 1",
        "fi",
        "# Checked before anything deploys: a deploy fails on a secret it cannot read.",
        "require_secret() {",
        '  gcloud secrets describe "$SECRET_PREFIX$1" --project "$PROJECT" >/dev/null 2>&1 || {',
        '    echo "deploy.sh: no Secret Manager secret $SECRET_PREFIX$1: create it with" >&2',
        '    echo "  printf %s \\"\\$VALUE\\" | gcloud secrets create $SECRET_PREFIX$1'
        ' --data-file=-" >&2',
        "    exit 1",
        "  }",
        "}",
        *(f"require_secret {name}" for name in secrets),
    ]
    return "\n".join(lines) + "\n"
