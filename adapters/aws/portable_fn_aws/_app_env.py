# SPDX-License-Identifier: Apache-2.0
"""The app's ``env`` and ``secrets`` as Lambda environment variables (tooling only; never shipped).

Every function gets them in its own ``Environment.Variables``, beside the adapter's (the
resources it publishes to, its dead-letter queue...), over ``PF_APP`` in the Globals (SAM merges
the two: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-template-anatomy-globals.html):
every ``env`` value, and only the secrets the function is given (``Function.secrets``, the
decorator's ``secrets=``, else the app's), since a reference becomes the secret's value in the
function's configuration, readable by whoever may read that function's.
Not in the Globals themselves: cfn-lint (E1051) takes a Secrets Manager reference only in a
resource's properties. An ``env`` value is written as it is; a secret as a CloudFormation
dynamic reference, ``{{resolve:secretsmanager:<app>/<NAME>}}``, which CloudFormation replaces
with the secret's value when it creates or updates the function, so the value is in no
artifact and reading it costs the handler an ``os.environ`` lookup:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html
The secret id is literal: no CloudFormation page we found says a reference built by ``Fn::Sub``
(a prefix from a template parameter) is resolved, so a stage prefix is not offered.

Refused at package time: a user name the adapter also writes on a function (``BUCKET_<NAME>``:
the function's own would silently replace it), variables past Lambda's 4 KB, and an ``env``
value holding a dynamic reference of its own (``{{resolve:ssm:...}}``): CloudFormation would
resolve it on AWS only, every other target writing the text as it is, and it would escape the
stack's count of references; a secret is declared in ``secrets=``.

``secrets_finding`` tells ``package`` and ``inspect`` which secrets to create (those some
function is given: the template references no other), and that the
identity CloudFormation resolves them as (the deploying user's session, or the stack's service
role: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html)
must be allowed ``secretsmanager:GetSecretValue`` on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from portable_fn._settings import LAMBDA_ENV_BYTES
from portable_fn.adapter import Finding, secrets_given
from portable_fn.errors import ConfigurationError

if TYPE_CHECKING:
    from portable_fn.app import App, Function
    from portable_fn_aws._resources import Builder

# At most 60 dynamic references in a stack template (General considerations):
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references.html
MAX_DYNAMIC_REFERENCES = 60
# How every dynamic reference begins, whatever its service (ssm, ssm-secure, secretsmanager):
# ``{{resolve:service-name:reference-key}}`` (same page).
DYNAMIC_REFERENCE = "{{resolve:"


def secret_id(app: App, name: str) -> str:
    """The Secrets Manager secret that holds ``name``: ``<app>/<NAME>`` (app names are
    lower-case letters, digits and ``-``, all valid in a secret name)."""
    return f"{app.name}/{name}"


def secret_reference(app: App, name: str) -> str:
    """Where CloudFormation reads the secret ``name`` from at deploy: its ``secret_id``, its
    whole ``SecretString``, its current version."""
    return f"{{{{resolve:secretsmanager:{secret_id(app, name)}}}}}"


def global_variables(app: App) -> dict[str, str]:
    """What the template's Globals give every function: ``PF_APP``. The core refuses ``PF_*``
    for user names, so no app variable replaces it."""
    return {"PF_APP": app.name}


def function_variables(app: App, fn: Function) -> dict[str, str]:
    """The app's ``env``, then a reference per secret ``fn`` is given (a name is never in
    both)."""
    variables = dict(app.env)
    for name in fn.secrets:
        variables[name] = secret_reference(app, name)
    return variables


def env_bytes(variables: Mapping[str, Any]) -> int:
    """The bytes Lambda counts, of what is known at package time: every key, and every value
    written as text (a secret by its reference). A ``Ref`` or ``Fn::GetAtt`` (a queue's URL, a
    topic's ARN) is filled by CloudFormation at deploy: its key counts, its value cannot."""
    return sum(
        len(key.encode()) + (len(value.encode()) if isinstance(value, str) else 0)
        for key, value in variables.items()
    )


def add(b: Builder, fn: Function, variables: dict[str, Any]) -> None:
    """Add ``fn``'s app variables to ``variables`` (the adapter's for it), refusing what they
    cannot be: a user name among the adapter's, more than Lambda's 4 KB with the Globals' (the
    total of all of a function's variables, keys and values:
    https://docs.aws.amazon.com/lambda/latest/api/API_Environment.html)."""
    app = b.app
    ours = function_variables(app, fn)
    clashes = sorted(set(ours) & set(variables))
    if clashes:
        b.refuse(fn.name, ConfigurationError(
            f"{', '.join(clashes)} in the app's env/secrets is also a variable the aws "
            "target writes on this function (BUCKET_<NAME> holds its bucket's real name): "
            "rename it", function=fn.name))
        return
    variables.update(ours)
    merged = {**global_variables(app), **variables}
    size = env_bytes(merged)
    if size > LAMBDA_ENV_BYTES:
        largest = sorted(merged, key=lambda k: -env_bytes({k: merged[k]}))[:3]
        secrets = (
            "; a secret counts by its reference's length here, and the value it resolves to "
            "at deploy counts too"
            if fn.secrets else ""
        )
        b.refuse(fn.name, ConfigurationError(
            f"its environment variables take {size} bytes (keys and values), over "
            f"Lambda's {LAMBDA_ENV_BYTES} for a function; largest: {', '.join(largest)}"
            f"{secrets}: trim env=/secrets=", function=fn.name))


def reference_count(app: App) -> Finding | None:
    """A warning when the processed template would hold more dynamic references than
    CloudFormation takes in a stack: every function carries one per secret it is given."""
    count = sum(len(fn.secrets) for fn in app.functions.values())
    if count <= MAX_DYNAMIC_REFERENCES:
        return None
    return Finding(
        None,
        "warning",
        f"{count} Secrets Manager dynamic references (one per secret each function is given), "
        f"and CloudFormation takes at most "
        f"{MAX_DYNAMIC_REFERENCES} in a stack template: the deploy may be refused (fewer "
        "secrets, e.g. one JSON secret read and parsed by the handler, fewer functions, or "
        "secrets=[...] on each function naming only those it reads)",
    )


def refuse_dynamic_references(b: Builder) -> None:
    """Refuse ``env`` values holding a CloudFormation dynamic reference: written into the
    template as they are, CloudFormation would replace them at deploy, on AWS only (Cloud Run,
    Azure and Workers get the text), uncounted among the stack's 60 references."""
    app = b.app
    names = [name for name, value in app.env.items() if DYNAMIC_REFERENCE in value]
    if not names:
        return
    stored = ", ".join(secret_id(app, name) for name in names)
    b.refuse(None, ConfigurationError(
        f"env {', '.join(names)}: a CloudFormation dynamic reference "
        f"({DYNAMIC_REFERENCE}...}}}}) in an env= value is resolved on AWS only (every other "
        "provider gets the text as it is) and escapes the count of the stack's references: "
        f"declare it in secrets=[{', '.join(repr(n) for n in names)}] and store its value in "
        f"Secrets Manager as {stored} (the aws target writes the reference itself)"))


def secrets_finding(app: App) -> Finding | None:
    """What to create before the first deploy: one Secrets Manager secret per secret some
    function is given (any function's: CloudFormation resolves every reference in the
    template), and the permission to read them for the identity CloudFormation resolves
    references as (the caller's session, or the stack's service role,
    using-iam-servicerole.html)."""
    names = secrets_given(app)
    if not names:
        return None
    commands = "; ".join(
        f"aws secretsmanager create-secret --name {secret_id(app, name)} "
        "--secret-string '<value>'"
        for name in names
    )
    return Finding(
        None,
        "info",
        f"secrets come from Secrets Manager, resolved by CloudFormation when it creates or "
        f"updates each function: create them before the first deploy ({commands}), and allow "
        "the identity that deploys (your credentials, or the stack's service role) "
        f"secretsmanager:GetSecretValue on them; a missing secret or permission fails the "
        "deploy",
    )
