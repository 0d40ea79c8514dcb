# SPDX-License-Identifier: Apache-2.0
"""The messages of the Functions host <-> language worker gRPC contract that
``azure_functions_runtime`` reads and builds, declared here as protobuf descriptors.

The Python worker library gets its message classes from the proxy worker, which ships inside
the Functions host (not on PyPI). This module declares, with protobuf's own descriptor API, the
subset the library touches (names as in the public contract, azure-functions-language-worker-
protobuf ``FunctionRpc.proto``; field numbers are ours: nothing here goes over a wire), so the
real library can index and invoke an app in-process. Only the transport is absent.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "string": _F.TYPE_STRING, "bytes": _F.TYPE_BYTES, "bool": _F.TYPE_BOOL,
    "int32": _F.TYPE_INT32, "sint64": _F.TYPE_SINT64, "double": _F.TYPE_DOUBLE,
}

# message -> [(field, type, label, oneof)]; type: scalar name, ".Message" or "enum:.Enum".
# label "map:K,V" makes a map field.
_MESSAGES: dict[str, list[tuple[str, str, str, str | None]]] = {
    "NullableString": [("value", "string", "", "string")],
    "NullableDouble": [("value", "double", "", "double")],
    "NullableBool": [("value", "bool", "", "bool")],
    "NullableTimestamp": [("value", ".google.protobuf.Timestamp", "", "timestamp")],
    "CollectionString": [("string", "string", "repeated", None)],
    "CollectionBytes": [("bytes", "bytes", "repeated", None)],
    "CollectionDouble": [("double", "double", "repeated", None)],
    "CollectionSInt64": [("sint64", "sint64", "repeated", None)],
    "RpcHttpCookie": [
        ("name", "string", "", None), ("value", "string", "", None),
        ("domain", ".rpc.NullableString", "", None), ("path", ".rpc.NullableString", "", None),
        ("expires", ".rpc.NullableTimestamp", "", None),
        ("secure", ".rpc.NullableBool", "", None), ("http_only", ".rpc.NullableBool", "", None),
        ("same_site", "enum:.rpc.RpcHttpCookie.SameSite", "", None),
        ("max_age", ".rpc.NullableDouble", "", None)],
    "RpcHttp": [
        ("method", "string", "", None), ("url", "string", "", None),
        ("headers", "string", "map:string,string", None), ("body", ".rpc.TypedData", "", None),
        ("params", "string", "map:string,string", None), ("status_code", "string", "", None),
        ("query", "string", "map:string,string", None),
        ("enable_content_negotiation", "bool", "", None),
        ("cookies", ".rpc.RpcHttpCookie", "repeated", None)],
    "TypedData": [
        ("string", "string", "", "data"), ("json", "string", "", "data"),
        ("bytes", "bytes", "", "data"), ("stream", "bytes", "", "data"),
        ("http", ".rpc.RpcHttp", "", "data"), ("int", "sint64", "", "data"),
        ("double", "double", "", "data"),
        ("collection_bytes", ".rpc.CollectionBytes", "", "data"),
        ("collection_string", ".rpc.CollectionString", "", "data"),
        ("collection_double", ".rpc.CollectionDouble", "", "data"),
        ("collection_sint64", ".rpc.CollectionSInt64", "", "data")],
    "ParameterBinding": [("name", "string", "", None), ("data", ".rpc.TypedData", "", "rpc_data"),
                         ("rpc_shared_memory", "bytes", "", "rpc_data")],
    "RpcException": [("source", "string", "", None), ("stack_trace", "string", "", None),
                     ("message", "string", "", None), ("is_user_exception", "bool", "", None),
                     ("type", "string", "", None)],
    "StatusResult": [("status", "enum:.rpc.StatusResult.Status", "", None),
                     ("result", "string", "", None),
                     ("exception", ".rpc.RpcException", "", None)],
    "WorkerMetadata": [("runtime_name", "string", "", None),
                       ("runtime_version", "string", "", None),
                       ("worker_version", "string", "", None),
                       ("worker_bitness", "string", "", None),
                       ("custom_properties", "string", "map:string,string", None)],
    "WorkerInitResponse": [("worker_version", "string", "", None),
                           ("capabilities", "string", "map:string,string", None),
                           ("result", ".rpc.StatusResult", "", None),
                           ("worker_metadata", ".rpc.WorkerMetadata", "", None)],
    "BindingInfo": [("type", "string", "", None),
                    ("direction", "enum:.rpc.BindingInfo.Direction", "", None),
                    ("data_type", "enum:.rpc.BindingInfo.DataType", "", None),
                    ("properties", "string", "map:string,string", None)],
    "RpcRetryOptions": [("max_retry_count", "int32", "", None),
                        ("delay_interval", ".google.protobuf.Duration", "", None),
                        ("minimum_interval", ".google.protobuf.Duration", "", None),
                        ("maximum_interval", ".google.protobuf.Duration", "", None),
                        ("retry_strategy", "enum:.rpc.RpcRetryOptions.RetryStrategy", "", None)],
    "RpcFunctionMetadata": [
        ("name", "string", "", None), ("directory", "string", "", None),
        ("script_file", "string", "", None), ("entry_point", "string", "", None),
        ("bindings", ".rpc.BindingInfo", "map:string,.rpc.BindingInfo", None),
        ("is_proxy", "bool", "", None), ("status", ".rpc.StatusResult", "", None),
        ("language", "string", "", None), ("raw_bindings", "string", "repeated", None),
        ("function_id", "string", "", None), ("managed_dependency_enabled", "bool", "", None),
        ("retry_options", ".rpc.RpcRetryOptions", "", None),
        ("properties", "string", "map:string,string", None)],
    "FunctionMetadataResponse": [
        ("function_metadata_results", ".rpc.RpcFunctionMetadata", "repeated", None),
        ("result", ".rpc.StatusResult", "", None),
        ("use_default_metadata_indexing", "bool", "", None)],
    "FunctionLoadResponse": [("function_id", "string", "", None),
                             ("result", ".rpc.StatusResult", "", None)],
    "InvocationResponse": [("invocation_id", "string", "", None),
                           ("output_data", ".rpc.ParameterBinding", "repeated", None),
                           ("return_value", ".rpc.TypedData", "", None),
                           ("result", ".rpc.StatusResult", "", None)],
    "FunctionEnvironmentReloadResponse": [("result", ".rpc.StatusResult", "", None)],
}
_ENUMS = {
    "StatusResult": ("Status", ["Failure", "Success", "Cancelled"]),
    "BindingInfo": [("Direction", ["in", "out", "inout"]),
                    ("DataType", ["undefined", "string", "binary", "stream"])],
    "RpcRetryOptions": ("RetryStrategy", ["exponential_backoff", "fixed_delay"]),
    "RpcHttpCookie": ("SameSite", ["None", "Lax", "Strict", "ExplicitNone"]),
}


def _field(message: Any, number: int, name: str, kind: str, label: str,
           oneofs: dict[str, int], oneof: str | None) -> None:
    field = message.field.add(name=name, number=number)
    if label.startswith("map:"):
        key, value = label[4:].split(",")
        entry = message.nested_type.add(name="".join(p.title() for p in name.split("_")) +
                                        "Entry")
        entry.options.map_entry = True
        _field(entry, 1, "key", key, "", {}, None)
        _field(entry, 2, "value", value, "", {}, None)
        field.label = _F.LABEL_REPEATED
        field.type = _F.TYPE_MESSAGE
        field.type_name = f".rpc.{message.name}.{entry.name}"
        return
    field.label = _F.LABEL_REPEATED if label == "repeated" else _F.LABEL_OPTIONAL
    if kind.startswith("enum:"):
        field.type, field.type_name = _F.TYPE_ENUM, kind[5:]
    elif kind.startswith("."):
        field.type, field.type_name = _F.TYPE_MESSAGE, kind
    else:
        field.type = _SCALARS[kind]
    if oneof is not None:
        if oneof not in oneofs:
            oneofs[oneof] = len(message.oneof_decl)
            message.oneof_decl.add(name=oneof)
        field.oneof_index = oneofs[oneof]


def build() -> SimpleNamespace:
    """A ``protos`` namespace as the proxy worker hands it to the library."""
    from google.protobuf import duration_pb2, timestamp_pb2

    pool = descriptor_pool.DescriptorPool()
    for module in (duration_pb2, timestamp_pb2):
        pool.Add(descriptor_pb2.FileDescriptorProto.FromString(
            module.DESCRIPTOR.serialized_pb))
    proto = descriptor_pb2.FileDescriptorProto(name="rpc_subset.proto", package="rpc",
                                               syntax="proto3")
    proto.dependency.extend(["google/protobuf/duration.proto",
                             "google/protobuf/timestamp.proto"])
    for name, fields in _MESSAGES.items():
        message = proto.message_type.add(name=name)
        enums = _ENUMS.get(name, [])
        for enum_name, values in [enums] if isinstance(enums, tuple) else enums:
            enum = message.enum_type.add(name=enum_name)
            for number, value in enumerate(values):
                enum.value.add(name=value, number=number)
        oneofs: dict[str, int] = {}
        for number, (field_name, kind, label, oneof) in enumerate(fields, 1):
            _field(message, number, field_name, kind, label, oneofs, oneof)
    file = pool.Add(proto)
    classes = message_factory.GetMessages([proto], pool=pool)
    del file
    return SimpleNamespace(**{name: classes[f"rpc.{name}"] for name in _MESSAGES})
