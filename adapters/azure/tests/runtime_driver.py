# SPDX-License-Identifier: Apache-2.0
"""Drive the real Python worker library (PyPI ``azure-functions-runtime``, Python 3.13+) through
its host-facing handlers: WorkerInit (indexes ``function_app.py``), FunctionsMetadata,
FunctionLoad and Invocation, with protobuf messages (``rpc_schema``) in place of the gRPC
stream. Run as ``python runtime_driver.py APP_DIR SCRIPT.json``; the script lists invocations;
prints one JSON document with the metadata and each invocation's response.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import rpc_schema


def _request(protos: Any, **fields: Any) -> SimpleNamespace:
    return SimpleNamespace(request=SimpleNamespace(**fields),
                           properties={"host": "127.0.0.1", "protos": protos})


def _typed(protos: Any, spec: dict[str, Any]) -> Any:
    kind, value = spec["type"], spec.get("value")
    if kind == "http":
        return protos.TypedData(http=protos.RpcHttp(
            method=value["method"], url=value["url"], headers=value.get("headers", {}),
            query=value.get("query", {}), params=value.get("params", {}),
            body=protos.TypedData(bytes=value.get("body", "").encode())))
    if kind == "json" and not isinstance(value, str):
        return protos.TypedData(json=json.dumps(value))
    if kind == "bytes":
        return protos.TypedData(bytes=base64.b64decode(spec["base64"]))
    if kind == "int":
        return protos.TypedData(int=value)
    return protos.TypedData(**{kind: value})


def _metadata_value(protos: Any, value: Any) -> Any:
    # The host sends strings as string and everything else (counts, dates, objects) as json:
    # the worker library has no decoder for TypedData.int in trigger metadata.
    if isinstance(value, str):
        return protos.TypedData(string=value)
    return protos.TypedData(json=json.dumps(value))


async def main(app_dir: str, script: list[dict[str, Any]]) -> dict[str, Any]:
    from azure_functions_runtime import handle_event

    protos = rpc_schema.build()
    sys.path.insert(0, app_dir)
    init = await handle_event.worker_init_request(_request(
        protos, worker_init_request=SimpleNamespace(
            capabilities={}, function_app_directory=app_dir)))
    out: dict[str, Any] = {"init": init.result.status == protos.StatusResult.Success,
                           "init_error": init.result.exception.message}
    meta = await handle_event.functions_metadata_request(_request(protos))
    ids: dict[str, str] = {}
    out["functions"] = {}
    for fm in meta.function_metadata_results:
        ids[fm.name] = fm.function_id
        out["functions"][fm.name] = {
            "raw_bindings": [json.loads(b) for b in fm.raw_bindings],
            "retry": fm.retry_options.max_retry_count if fm.HasField("retry_options") else None,
            "worker_indexed": fm.properties.get("worker_indexed")}
        await handle_event.function_load_request(_request(
            protos, function_load_request=SimpleNamespace(function_id=fm.function_id)))
    out["invocations"] = []
    for step in script:
        request = SimpleNamespace(
            invocation_id=str(uuid.uuid4()), function_id=ids[step["function"]],
            input_data=[protos.ParameterBinding(name=step["arg"],
                                                data=_typed(protos, step["data"]))],
            trigger_metadata={k: _metadata_value(protos, v)
                              for k, v in step.get("metadata", {}).items()},
            trace_context=SimpleNamespace(trace_parent="", trace_state="", attributes={}),
            retry_context=SimpleNamespace(retry_count=0, max_retry_count=0, exception=None))
        response = await handle_event.invocation_request(_request(
            protos, invocation_request=request))
        result: dict[str, Any] = {
            "function": step["function"],
            "ok": response.result.status == protos.StatusResult.Success,
            "error": response.result.exception.message}
        if response.HasField("return_value") and response.return_value.HasField("http"):
            http = response.return_value.http
            result["status"] = int(http.status_code)
            result["headers"] = dict(http.headers)
            result["body"] = http.body.bytes.decode("utf-8", "replace")
        out["invocations"].append(result)
    return out


if __name__ == "__main__":
    script = json.loads(Path(sys.argv[2]).read_text())
    print(json.dumps(asyncio.run(main(sys.argv[1], script))))
