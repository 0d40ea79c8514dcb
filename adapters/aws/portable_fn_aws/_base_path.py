# SPDX-License-Identifier: Apache-2.0
"""The route's own path when API Gateway puts a prefix before it: a custom domain's base path
mapping (REST) or API mapping key (HTTP API), or a named stage the request came through.

Custom domains: https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-mappings.html
and https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-mappings.html.
Through ``api.example.com/v1/payment`` a REST event has ``path`` and ``requestContext.path``
``/v1/payment`` but ``resource`` and ``requestContext.resourcePath`` ``/payment``; a nested
mapping puts several segments there (``/v1/nested/payment/123`` for ``/payment/{invoice+}``):
live captures in aws-powertools/powertools-lambda-python#579 (whose ``strip_prefixes`` needs the
prefixes configured) and localstack/localstack#12296. An HTTP API keeps the mapping key in
``rawPath`` and ``requestContext.http.path`` as it keeps a named stage
(aws-powertools/powertools-lambda-python#621), while ``routeKey`` holds the route template.

So the event says enough, without configuration: the route template (``resource``, or the
``routeKey`` path) matches a known number of trailing segments (a greedy ``{name+}`` as many as
its path parameter holds), and whatever precedes them is the prefix. The prefix is stripped only
when the template's literal segments match what follows it; otherwise the path stays as sent.
A ``$default`` route has no template: nothing is known, nothing is stripped here.
"""

from __future__ import annotations

from typing import Any

from portable_fn_aws._common import decoded_path


def routed_path(path: str, template: Any, params: Any) -> str:
    """``path`` (as the event carries it) without what API Gateway put before the route.

    ``template`` is the matched route (``/orders/{id}``, ``/{proxy+}``); ``params`` the event's
    ``pathParameters``, read only for a greedy template.
    """
    # The common case costs two comparisons and two counts: a path with no more segments than
    # its template has no prefix (a trailing slash or a greedy template take the long way).
    if (
        type(template) is not str
        or template[:1] != "/"
        or path == template
        or (template != "/" and "+}" not in template and path.count("/") <= template.count("/"))
    ):
        return path
    body = path.rstrip("/")
    trailing = "/" if len(body) < len(path) else ""  # kept: a route may declare it
    segments = body.split("/")[1:]
    names = [name for name in template.split("/") if name]
    fixed = names
    wanted = len(names)
    if names and names[-1].endswith("+}"):  # greedy: one or more segments, as many as it took
        value = params.get(names[-1][1:-2]) if type(params) is dict else None
        taken = value.strip("/") if type(value) is str else ""
        if not taken:
            return path
        fixed = names[:-1]
        wanted = len(fixed) + taken.count("/") + 1
    extra = len(segments) - wanted
    if extra <= 0:
        return path
    rest = segments[extra:]
    for name, segment in zip(fixed, rest, strict=False):  # rest may run past the fixed part
        if name[:1] != "{" and name != segment and name != decoded_path(segment):
            return path  # the template does not fit after all: leave the path as sent
    return "/" + "/".join(rest) + trailing if rest else "/"

