# SPDX-License-Identifier: Apache-2.0
"""Kinesis Producer Library (KPL) aggregated records: the user records one Kinesis record packs.

Format: https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md
(the magic ``F3 89 9A C2``, a protobuf ``AggregatedRecord``, then the 16-byte MD5 of the
protobuf bytes). Protobuf wire format: https://protobuf.dev/programming-guides/encoding/

The decoder is written out for exactly these messages, standard library only: the adapter's
runtime depends on nothing but portable-fn, and a protobuf runtime would be a dependency and an
import on every cold start. As the KCL reads records (``UserRecord.deaggregate``), data without
the magic, with no message bytes, or whose digest does not match is not an aggregate (``None``:
a plain record). Bytes the digest vouches for that are not a well-formed ``AggregatedRecord``
raise ``AggregateError``, where the KCL would pass them on as one plain record: that would hand
the handler the producer's framing instead of its records, and hide the fault.
Unknown fields are skipped by wire type, as protobuf readers must; a known field with another
wire type than its declaration's is malformed, as is a missing required field. ``Record.tags``
(field 4) is checked, then dropped: the format reserves it, and neither the KPL nor the KCL
implements it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

MAGIC = b"\xf3\x89\x9a\xc2"
DIGEST_SIZE = 16

# Wire types (encoding guide, "Message Structure").
VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
_WIRE_NAMES = {VARINT: "varint", I64: "I64", LEN: "LEN", SGROUP: "SGROUP", I32: "I32"}
_MAX_FIELD = (1 << 29) - 1


class AggregateError(ValueError):
    """An aggregated record whose protobuf message is malformed or truncated.

    ``offset`` is where reading failed, counted in the protobuf message's bytes (after the magic).
    """

    def __init__(self, message: str, offset: int) -> None:
        self.offset = offset
        super().__init__(f"{message} (at byte {offset} of the AggregatedRecord)")


class UserRecord(NamedTuple):
    """One record as its producer put it: ``(partition_key, explicit_hash_key, data)``."""

    partition_key: str
    explicit_hash_key: str | None
    data: bytes


def deaggregate(data: bytes) -> list[UserRecord] | None:
    """The user records of a KPL aggregated record, in order; ``None`` when ``data`` is not one.

    Raises ``AggregateError`` when the magic and digest match but the message does not parse.
    """
    if len(data) <= len(MAGIC) + DIGEST_SIZE or data[: len(MAGIC)] != MAGIC:
        return None
    message = data[len(MAGIC) : -DIGEST_SIZE]
    # Imported here, not at module level: hashlib loads OpenSSL (~3 ms), and only aggregates
    # get this far; every Kinesis function imports this module on its cold start.
    import hashlib

    if hashlib.md5(message, usedforsecurity=False).digest() != data[-DIGEST_SIZE:]:
        return None
    return _aggregated_record(message)


def _aggregated_record(buf: bytes) -> list[UserRecord]:
    partition_keys: list[str] = []
    hash_keys: list[str] = []
    spans: list[tuple[int, int]] = []
    # Fields may come in any order: the key tables can follow the records that index them.
    for at, number, wire, value, stop in _fields(buf, 0, len(buf)):
        if number == 1:
            partition_keys.append(_string(buf, value, stop, wire, "partition_key_table", at))
        elif number == 2:
            hash_keys.append(_string(buf, value, stop, wire, "explicit_hash_key_table", at))
        elif number == 3:
            _expect(wire, LEN, "records", at)
            spans.append((value, stop))
    return [_record(buf, start, stop, partition_keys, hash_keys) for start, stop in spans]


def _record(
    buf: bytes, start: int, end: int, partition_keys: list[str], hash_keys: list[str]
) -> UserRecord:
    key_index: int | None = None
    hash_index: int | None = None
    data: bytes | None = None
    for at, number, wire, value, stop in _fields(buf, start, end):
        if number == 1:
            _expect(wire, VARINT, "partition_key_index", at)
            key_index = value
        elif number == 2:
            _expect(wire, VARINT, "explicit_hash_key_index", at)
            hash_index = value
        elif number == 3:
            _expect(wire, LEN, "data", at)
            data = buf[value:stop]
        elif number == 4:
            _expect(wire, LEN, "tags", at)
            _tag(buf, value, stop)
    if key_index is None:
        raise AggregateError("Record without its required partition_key_index", start)
    if data is None:
        raise AggregateError("Record without its required data", start)
    return UserRecord(
        _entry(partition_keys, key_index, "partition_key", start),
        None if hash_index is None else _entry(hash_keys, hash_index, "explicit_hash_key", start),
        data,
    )


def _tag(buf: bytes, start: int, end: int) -> None:
    """Check a Tag as a KCL would parse it; nothing reads tags (see the module docstring)."""
    has_key = False
    for at, number, wire, value, stop in _fields(buf, start, end):
        if number in (1, 2):
            _string(buf, value, stop, wire, "Tag.key" if number == 1 else "Tag.value", at)
            has_key = has_key or number == 1
    if not has_key:
        raise AggregateError("Tag without its required key", start)


def _entry(table: list[str], index: int, name: str, at: int) -> str:
    if index >= len(table):
        raise AggregateError(f"{name}_index {index} outside the {len(table)}-entry table", at)
    return table[index]


def _string(buf: bytes, start: int, stop: int, wire: int, name: str, at: int) -> str:
    _expect(wire, LEN, name, at)
    try:
        return buf[start:stop].decode("utf-8")
    except UnicodeDecodeError:
        raise AggregateError(f"{name} entry is not UTF-8", start) from None


def _expect(wire: int, expected: int, name: str, at: int) -> None:
    if wire != expected:
        raise AggregateError(
            f"{name} has wire type {_WIRE_NAMES.get(wire, wire)}, declared {_WIRE_NAMES[expected]}",
            at,
        )


def _fields(buf: bytes, pos: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """``(offset, field number, wire type, value, stop)`` for each field of the message in
    ``buf[pos:end]``: ``offset`` is the field's tag; ``value`` the number itself for a varint,
    else where the field's payload starts (after a LEN field's length); ``stop`` where it ends."""
    while pos < end:
        at = pos
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if not 0 < number <= _MAX_FIELD:
            raise AggregateError(f"field number {number} out of range", at)
        if wire == VARINT:
            value, pos = _varint(buf, pos, end)
        elif wire == SGROUP:
            value, pos = pos, _skip_group(buf, pos, end, number)
        else:
            value, pos = _payload(buf, pos, end, wire, at)
        yield at, number, wire, value, pos


def _payload(buf: bytes, pos: int, end: int, wire: int, at: int) -> tuple[int, int]:
    """Where a LEN, I64 or I32 field's payload starts and ends (``pos`` just after its tag)."""
    if wire == LEN:
        length, pos = _varint(buf, pos, end)
        size = length
    elif wire == I64:
        size = 8
    elif wire == I32:
        size = 4
    else:  # an end-group outside a group, or the undefined wire types 6 and 7
        raise AggregateError(f"unexpected wire type {wire}", at)
    if size > end - pos:
        raise AggregateError(f"field truncated: {size} bytes declared, {end - pos} left", at)
    return pos, pos + size


def _skip_group(buf: bytes, pos: int, end: int, number: int) -> int:
    """Past the end-group matching a start-group (deprecated, but skippable): a stack, not
    recursion, so nesting cannot exhaust Python's stack however deep a payload makes it."""
    open_groups = [number]
    while open_groups:
        at = pos
        key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if wire == SGROUP:
            open_groups.append(field)
        elif wire == EGROUP:
            if field != open_groups.pop():
                raise AggregateError("end-group does not match its start-group", at)
        elif wire == VARINT:
            _, pos = _varint(buf, pos, end)
        else:
            _, pos = _payload(buf, pos, end, wire, at)
    return pos


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """A base-128 varint of at most 64 bits starting at ``pos``, and the position after it."""
    start = pos
    result = shift = 0
    while pos < end:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            if result >> 64:
                raise AggregateError("varint exceeds 64 bits", start)
            return result, pos
        shift += 7
        if shift >= 70:
            raise AggregateError("varint longer than 10 bytes", start)
    raise AggregateError("truncated varint", start)
