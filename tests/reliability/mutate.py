"""Hypothesis strategies that damage a real native payload, for every adapter's fuzz suite
(adapters/<p>/tests/test_fuzz.py): a missing key, a value of the wrong type, bad base64, an
oversized string, text that is not valid UTF-8 (a lone surrogate, which is what a JSON
``"\\udcff"`` escape decodes to) or base64 of bytes that are not UTF-8.

Each strategy draws ``(description, mutated_copy)``; the original is never modified.
``every_mutation`` enumerates the same single damages exhaustively and ``sweep`` runs a check
over them, reporting every distinct failure at once.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any, NoReturn

from hypothesis import strategies as st

Path = tuple[Any, ...]
WRONG_TYPES: tuple[Any, ...] = (None, 0, -1, 2**63, 1.5, True, "", "x", [], {}, [1], {"k": 1})
OVERSIZED = 300_000  # past the 256 KiB message limit of SQS, Storage Queues and CF Queues
NOT_BASE64 = "%%% not base64 %%%"
NOT_UTF8 = base64.b64encode(b"\xff\xfe\xfa not utf-8 \xc3\x28").decode()


def paths(value: Any, prefix: Path = ()) -> list[Path]:
    """Every key and item path inside ``value`` (not the root)."""
    found: list[Path] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*prefix, key))
            found.extend(paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((*prefix, index))
            found.extend(paths(item, (*prefix, index)))
    return found


def get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def _edit(value: Any, path: Path, change: Callable[[Any, Any], None]) -> Any:
    copied = copy.deepcopy(value)
    change(get(copied, path[:-1]), path[-1])
    return copied


def delete(value: Any, path: Path) -> Any:
    return _edit(value, path, lambda parent, key: parent.pop(key))


def replace(value: Any, path: Path, new: Any) -> Any:
    def put(parent: Any, key: Any) -> None:
        parent[key] = new

    return _edit(value, path, put)


def mutations(native: Any, *, skip: Callable[[Path], bool] = lambda p: False) -> Any:
    """A strategy of ``(description, damaged copy of native)``."""
    every = [p for p in paths(native) if not skip(p)]
    strings = [p for p in every if isinstance(get(native, p), str)]
    assert every, "nothing to mutate"
    options = [
        st.sampled_from(every).map(lambda p: (f"delete {p}", delete(native, p))),
        st.tuples(st.sampled_from(every), st.sampled_from(WRONG_TYPES)).map(
            lambda pn: (f"{pn[0]} = {pn[1]!r}", replace(native, pn[0], pn[1]))
        ),
    ]
    if strings:
        options += [
            st.sampled_from(strings).map(
                lambda p: (f"{p} = not base64", replace(native, p, NOT_BASE64))
            ),
            st.sampled_from(strings).map(
                lambda p: (f"{p} = base64 of non-UTF-8", replace(native, p, NOT_UTF8))
            ),
            st.sampled_from(strings).map(
                lambda p: (f"{p} += lone surrogate", replace(native, p, get(native, p) + "\udcff"))
            ),
            st.sampled_from(strings).map(
                lambda p: (f"{p} oversized", replace(native, p, "x" * OVERSIZED))
            ),
        ]
    return st.one_of(options)


def every_mutation(native: Any, *, skip: Callable[[Path], bool] = lambda p: False) -> Any:
    """Every single damage ``mutations`` can draw, in order: the exhaustive sweep that runs
    before hypothesis's random draws (one damage at a time is cheap to enumerate in full)."""
    for p in paths(native):
        if skip(p):
            continue
        yield f"delete {p}", delete(native, p)
        for wrong in WRONG_TYPES:
            yield f"{p} = {wrong!r}", replace(native, p, wrong)
        value = get(native, p)
        if isinstance(value, str):
            yield f"{p} = not base64", replace(native, p, NOT_BASE64)
            yield f"{p} = base64 of non-UTF-8", replace(native, p, NOT_UTF8)
            yield f"{p} += lone surrogate", replace(native, p, value + "\udcff")
            yield f"{p} oversized", replace(native, p, "x" * OVERSIZED)


def undeliverable() -> NoReturn:
    """Skip this case: no provider could deliver it (what hypothesis's ``reject`` does, usable
    in ``sweep`` too)."""
    from hypothesis.errors import UnsatisfiedAssumption

    raise UnsatisfiedAssumption


def sweep(cases: Any, check: Callable[[tuple[str, Any]], None]) -> None:
    """Run ``check`` on every case; fail once, listing each distinct failure (exception type
    and the innermost portable-fn frame) with one damage that causes it."""
    import traceback

    from hypothesis.errors import UnsatisfiedAssumption

    failures: dict[str, str] = {}
    for case in cases:
        try:
            check(case)
        except UnsatisfiedAssumption:
            continue  # not an input this provider could deliver (the check says why)
        except Exception as exc:
            frames = [
                f for f in traceback.extract_tb(exc.__traceback__) if "portable_fn" in f.filename
            ]
            at = f"{frames[-1].filename.rsplit('/', 2)[-1]}:{frames[-1].lineno}" if frames else ""
            # An assertion of the check is keyed by its message up to the damage it names.
            first_line = str(exc).splitlines()[0].split(":")[0][:160] if str(exc) else ""
            key = f"{type(exc).__name__} {at or first_line}".strip()
            failures.setdefault(key, case[0])
    assert not failures, "\n".join(f"{k}  <- {what}" for k, what in sorted(failures.items()))
