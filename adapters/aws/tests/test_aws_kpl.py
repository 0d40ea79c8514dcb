# SPDX-License-Identifier: Apache-2.0
"""KPL aggregated Kinesis records: the decoder (``_kpl``), their events (``kinesis``) and their
batches (``_batches.stream_batch``), on bytes from AWS's own producer implementation.

References: https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md;
``aws_kinesis_agg`` (https://github.com/awslabs/kinesis-aggregation, the Python aggregator AWS
publishes) builds the aggregates, and its generated protobuf classes (Google's protobuf runtime)
build the odd shapes the aggregator never writes and judge whether bytes are valid protobuf.
"""

from __future__ import annotations

import hashlib
import sys
from base64 import b64encode
from datetime import datetime, timezone
from typing import Any

import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st

import portable_fn as pf
from portable_fn.errors import EventDecodeError
from portable_fn_aws import kinesis, lambda_handler
from portable_fn_aws._kpl import MAGIC, AggregateError, UserRecord, deaggregate

from aws_fixtures import FakeLambdaContext, load


def _producer() -> tuple[Any, Any]:
    # aws_kinesis_agg puts its own folder and site-packages first on sys.path when imported, so
    # its generated modules can import each other (the aggregator first: messages_pb2 needs the
    # path it sets). Undone at once: no other test should resolve imports differently for
    # having run after this module.
    path = list(sys.path)
    try:
        from aws_kinesis_agg import aggregator, messages_pb2
    finally:
        sys.path[:] = path
    return aggregator.RecordAggregator, messages_pb2


RecordAggregator, pb = _producer()
PROPERTY = settings(max_examples=200, deadline=None, derandomize=True)  # reproducible draws
SEQ = "49545115243490985018280067714973144582180062593244200961"
CTX = FakeLambdaContext()


def aggregate(*users: tuple[Any, ...]) -> bytes:
    """``(partition_key, data[, explicit_hash_key])`` aggregated as the KPL does it."""
    producer = RecordAggregator()
    for user in users:
        assert producer.add_user_record(*user) is None  # all in one record
    _, _, data = producer.clear_and_get().get_contents()
    return bytes(data)


def framed(message: bytes) -> bytes:
    """Any protobuf bytes in the aggregate framing, digest correct."""
    return MAGIC + message + hashlib.md5(message).digest()


def body(data: bytes) -> bytes:
    """The protobuf message of a framed aggregate."""
    return data[len(MAGIC) : -16]


def record(data: bytes, seq: str = SEQ) -> dict[str, Any]:
    """sam_kinesis.json's record (as Lambda delivers it) carrying ``data`` at ``seq``."""
    native = load("sam_kinesis.json")["Records"][0]
    native["kinesis"]["data"] = b64encode(data).decode()
    native["kinesis"]["sequenceNumber"] = seq
    native["eventID"] = f"shardId-000000000000:{seq}"
    return native


def google(message: bytes) -> list[UserRecord] | None:
    """What Google's protobuf runtime reads from ``message`` (None: it rejects the bytes)."""
    try:
        parsed = pb.AggregatedRecord.FromString(message)
    except DecodeError:
        return None
    keys, hash_keys = list(parsed.partition_key_table), list(parsed.explicit_hash_key_table)
    return [
        UserRecord(
            keys[r.partition_key_index],
            hash_keys[r.explicit_hash_key_index] if r.HasField("explicit_hash_key_index") else None,
            r.data,
        )
        for r in parsed.records
    ]


# -- events: one per user record ------------------------------------------------------------


def test_aggregate_is_one_event_per_user_record() -> None:
    data = aggregate(("pk-a", b'{"n": 1}'), ("pk-b", b"plain text"), ("pk-c", b"\xff\x00"))
    events = kinesis.from_record(record(data))
    assert [(e.id, e.extensions["subsequence"]) for e in events] == [
        (f"shardId-000000000000:{SEQ}:0", 0),
        (f"shardId-000000000000:{SEQ}:1", 1),
        (f"shardId-000000000000:{SEQ}:2", 2),
    ]
    assert [e.extensions["partitionkey"] for e in events] == ["pk-a", "pk-b", "pk-c"]
    assert [(e.data, e.datacontenttype) for e in events] == [
        ({"n": 1}, "application/json"),
        ("plain text", "text/plain; charset=utf-8"),
        (b"\xff\x00", "application/octet-stream"),
    ]
    for event in events:  # what the record says of all of them
        assert event.extensions["sequence"] == SEQ
        assert event.source == "arn:aws:kinesis:EXAMPLE"
        assert event.type == "com.amazonaws.kinesis.record"
        assert event.time == datetime(2015, 4, 9, tzinfo=timezone.utc)
    # A redelivery of the same record gives the same events (ids are idempotency keys).
    assert kinesis.from_record(record(data)) == events


def test_user_record_that_is_a_structured_cloudevent_arrives_as_itself() -> None:
    ce = b'{"specversion":"1.0","id":"k1","source":"/s","type":"t","data":{"a":1}}'
    first, second = kinesis.from_record(record(aggregate(("pk", b"x"), ("pk", ce))))
    assert first.id.endswith(":0")
    assert (second.id, second.source, second.data, dict(second.extensions)) == (
        "k1",
        "/s",
        {"a": 1},
        {},
    )


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(None, id="digest-mismatch"),
        pytest.param(MAGIC + b"\x00" * 15, id="shorter-than-magic-and-digest"),
        pytest.param(framed(b""), id="no-message-bytes"),  # the KCL's reading, too
        pytest.param(MAGIC[:3] + b"\x00" * 40, id="no-magic"),
    ],
)
def test_data_that_is_not_an_aggregate_is_a_plain_record(data: bytes | None) -> None:
    if data is None:
        good = aggregate(("pk-a", b"one"), ("pk-b", b"two"))
        data = good[:-1] + bytes([good[-1] ^ 1])
    assert deaggregate(data) is None
    (event,) = kinesis.from_record(record(data))
    assert (event.id, event.data) == (f"shardId-000000000000:{SEQ}", data)
    assert dict(event.extensions) == {"partitionkey": "partitionKey-03", "sequence": SEQ}


def test_truncated_aggregate_is_a_decode_error() -> None:
    message = body(aggregate(("pk-a", b"one"), ("pk-b", b"two")))
    with pytest.raises(EventDecodeError) as caught:
        kinesis.from_record(record(framed(message[:-2])))
    assert (caught.value.trigger, caught.value.field) == ("kinesis", "kinesis.data")
    assert "truncated" in str(caught.value)


def test_aggregate_without_user_records_delivers_nothing() -> None:
    assert kinesis.from_record(record(framed(b"\n\x02pk"))) == []  # a key table, no records


# -- batches: the record's sequence number is the checkpoint --------------------------------


def make_handler() -> tuple[Any, list[str]]:
    app = pf.App("kpl")
    seen: list[str] = []

    @app.stream("clicks")
    def clicks(event: pf.CloudEvent) -> None:
        seen.append(event.id)
        if event.data == "fail":
            raise ValueError("fail")

    return lambda_handler(app, "clicks"), seen


def seq(n: int) -> str:
    return f"{n:056d}"


def test_batch_runs_every_user_record_in_order() -> None:
    handler, seen = make_handler()
    batch = [
        record(b"plain", seq(1)),
        record(aggregate(("a", b"x"), ("b", b"y")), seq(2)),
        record(b"plain", seq(3)),
    ]
    assert handler({"Records": batch}, CTX) == {"batchItemFailures": []}
    assert seen == [
        f"shardId-000000000000:{seq(1)}",
        f"shardId-000000000000:{seq(2)}:0",
        f"shardId-000000000000:{seq(2)}:1",
        f"shardId-000000000000:{seq(3)}",
    ]


def test_failing_user_record_reports_its_record_and_stops_there() -> None:
    handler, seen = make_handler()
    batch = [
        record(b"plain", seq(1)),
        record(aggregate(("a", b"ok"), ("b", b"fail"), ("c", b"never")), seq(2)),
        record(b"never either", seq(3)),
    ]
    out = handler({"Records": batch}, CTX)
    assert out == {"batchItemFailures": [{"itemIdentifier": seq(2)}]}
    assert seen == [
        f"shardId-000000000000:{seq(1)}",
        f"shardId-000000000000:{seq(2)}:0",
        f"shardId-000000000000:{seq(2)}:1",
    ]


def test_undecodable_aggregate_fails_alone_with_its_sequence_number() -> None:
    handler, seen = make_handler()
    truncated = framed(body(aggregate(("a", b"x"), ("b", b"y")))[:-1])
    batch = [
        record(aggregate(("a", b"x"), ("b", b"y")), seq(1)),
        record(truncated, seq(2)),
        record(b"after", seq(3)),
    ]
    out = handler({"Records": batch}, CTX)
    assert out == {"batchItemFailures": [{"itemIdentifier": seq(2)}]}
    assert seen == [f"shardId-000000000000:{seq(1)}:0", f"shardId-000000000000:{seq(1)}:1"]


# -- the decoder against Google's protobuf runtime ------------------------------------------

keys = st.text(min_size=1, max_size=8)
users = st.lists(
    st.tuples(keys, st.none() | st.from_regex(r"\A[0-9]{1,39}\Z"), st.binary(max_size=40)),
    min_size=1,  # no producer frames an empty message, and the KCL would not read one
    max_size=8,
)


def message(users: list[tuple[str, str | None, bytes]], *, tables_last: bool = False) -> bytes:
    """An AggregatedRecord written by Google's runtime, keys deduplicated into the tables."""
    key_table = list(dict.fromkeys(u[0] for u in users))
    hash_table = list(dict.fromkeys(u[1] for u in users if u[1] is not None))
    records = pb.AggregatedRecord()
    for key, hash_key, data in users:
        r = records.records.add(partition_key_index=key_table.index(key), data=data)
        if hash_key is not None:
            r.explicit_hash_key_index = hash_table.index(hash_key)
    tables = pb.AggregatedRecord(
        partition_key_table=key_table, explicit_hash_key_table=hash_table
    ).SerializeToString()
    # Concatenated messages are one merged message: this puts the tables after the records.
    rest = records.SerializeToString()
    return rest + tables if tables_last else tables + rest


@PROPERTY
@given(users, st.booleans())
def test_decoder_reads_what_protobuf_writes(drawn: Any, tables_last: bool) -> None:
    expected = [UserRecord(*u) for u in drawn]
    assert deaggregate(framed(message(drawn, tables_last=tables_last))) == expected


@PROPERTY
@given(users, st.data())
def test_truncated_message_is_rejected_exactly_when_protobuf_rejects_it(
    drawn: Any, data: st.DataObject
) -> None:
    whole = message(drawn)
    cut = whole[: data.draw(st.integers(1, len(whole) - 1))]
    oracle = google(cut)
    if oracle is None:
        with pytest.raises(AggregateError):
            deaggregate(framed(cut))
    else:
        assert deaggregate(framed(cut)) == oracle


@PROPERTY
@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_raise_aggregate_error(garbage: bytes) -> None:
    try:
        deaggregate(framed(garbage))
    except AggregateError:
        return
    # Accepted: so must Google's runtime accept them (the decoder is never the more lenient).
    assert google(garbage) is not None


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    unknown = b"".join(
        [
            b"\x78\x96\x01",  # field 15, varint
            b"\x79" + b"\x01" * 8,  # field 15, I64
            b"\x7a\x02hi",  # field 15, LEN
            b"\x7d" + b"\x02" * 4,  # field 15, I32
            b"\x7b\x08\x01\x83\x01\x84\x01\x7c",  # field 15, a group holding a varint, a group
        ]
    )
    inner = pb.Record(partition_key_index=0, data=b"x").SerializeToString() + unknown
    outer = b"\n\x02pk" + unknown + b"\x1a" + bytes([len(inner)]) + inner
    assert google(outer) == [UserRecord("pk", None, b"x")]  # valid protobuf, as intended
    assert deaggregate(framed(outer)) == [UserRecord("pk", None, b"x")]


def test_tags_are_read_and_dropped() -> None:
    tagged = pb.AggregatedRecord(partition_key_table=["pk"])
    tagged.records.add(partition_key_index=0, data=b"x", tags=[pb.Tag(key="k", value="v")])
    assert deaggregate(framed(tagged.SerializeToString())) == [UserRecord("pk", None, b"x")]


def _partial(**fields: Any) -> bytes:
    out = pb.AggregatedRecord(partition_key_table=["pk"], explicit_hash_key_table=["1"])
    out.records.add(**fields)
    return out.SerializePartialToString()


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (_partial(partition_key_index=1, data=b"x"), "partition_key_index 1 outside"),
        (
            _partial(partition_key_index=0, explicit_hash_key_index=5, data=b"x"),
            "explicit_hash_key_index 5 outside",
        ),
        (_partial(partition_key_index=0), "without its required data"),
        (_partial(data=b"x"), "without its required partition_key_index"),
        (
            b"\n\x02pk\x1a\x06\x08\x00\x1a\x00\x22\x00",  # a Tag with no key
            "Tag without its required key",
        ),
        (b"\x18\x01", "records has wire type varint, declared LEN"),
        (b"\n\x02\xff\xfe", "partition_key_table entry is not UTF-8"),
        (b"\x1a\x0b\x08" + b"\xff" * 10, "varint longer than 10 bytes"),
        (b"\x1a\x0b\x08" + b"\xff" * 9 + b"\x02", "varint exceeds 64 bits"),
        (b"\x7b\x84\x01", "end-group does not match"),
        (b"\x7c", "unexpected wire type 4"),
        (b"\x07", "field number 0 out of range"),
        (b"\x1a\x05\x08\x00", "field truncated: 5 bytes declared, 2 left"),
    ],
)
def test_malformed_message_is_an_aggregate_error(message: bytes, error: str) -> None:
    with pytest.raises(AggregateError, match=error):
        deaggregate(framed(message))


def test_deeply_nested_groups_are_skipped_without_recursion() -> None:
    depth = 200_000  # far past Python's recursion limit
    nested = b"\x7b" * depth + b"\x7c" * depth
    assert deaggregate(framed(b"\n\x02pk" + nested)) == []
    with pytest.raises(AggregateError, match="truncated varint"):
        deaggregate(framed(b"\n\x02pk" + nested[:-1]))  # one group left open


def test_the_codec_knows_the_aggregation_magic_without_loading_the_decoder() -> None:
    from portable_fn_aws import _kpl, kinesis

    assert kinesis._KPL_MAGIC == _kpl.MAGIC
