# SPDX-License-Identifier: Apache-2.0
"""Side-by-side benchmarking: every variant measured in the same run, interleaved, as ratios.

Absolute times move from machine to machine and minute to minute; a ratio measured within one
round does not (``../shared/reference/performance-anchors.md`` uses the same method: shuffled
rounds, timeit, medians, ratios taken within a round).
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Result", "compare", "import_cost", "print_table"]


@dataclass(frozen=True)
class Result:
    name: str
    median: float  # in the unit of the table (µs per call, ms per import...)
    ratio: float  # median of per-round ratios to the baseline
    unit: str


def compare(
    variants: Mapping[str, Callable[[], object]],
    baseline: str,
    *,
    number: int,
    rounds: int = 11,
    title: str = "",
    seed: int = 0,
) -> list[Result]:
    """Time each variant ``number`` calls per round, in a shuffled order each round; report
    µs per call (median of rounds) and the median per-round ratio to ``baseline``."""
    if baseline not in variants:
        raise KeyError(baseline)
    order = list(variants)
    rng = random.Random(seed)
    per_round: dict[str, list[float]] = {name: [] for name in order}
    for fn in variants.values():  # warm up: first calls fill caches, import lazily
        fn()
    for _ in range(rounds):
        rng.shuffle(order)
        for name in order:
            gc.collect()
            seconds = timeit.timeit(variants[name], number=number)
            per_round[name].append(seconds / number * 1e6)
    results = _summarise(per_round, baseline, "µs/call")
    print_table(results, title)
    return results


def import_cost(
    statements: Mapping[str, str],
    *,
    baseline: str | None = None,
    runs: int = 30,
    python: str = sys.executable,
    title: str = "",
) -> list[Result]:
    """Wall time of ``python -c STATEMENT`` minus a bare ``python -c pass``, in ms, interleaved,
    up to the end of the statement: the child reads the same monotonic clock (Linux's
    CLOCK_MONOTONIC is system-wide) when it is done, so interpreter exit is not counted. Exit
    is no part of a cold start, and what it costs depends on what the statement left for the
    collector (an entry that ``gc.freeze()``s its imports made exit 40 ms cheaper, not its
    import).

    Each run is a fresh interpreter: this is the import part of a cold start.
    """
    names = ["(bare)", *statements]
    done = "\nimport time; print(time.perf_counter())"
    code = {name: text + done for name, text in {"(bare)": "pass", **statements}.items()}
    # One warm-up run each, free to write bytecode: with PYTHONDONTWRITEBYTECODE set (as on
    # some machines) every run would otherwise compile whatever changed since the last .pyc,
    # and the table would time the compiler. (A statement can still opt out itself, as the
    # "no .pyc" variants do with sys.dont_write_bytecode.)
    writable = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for statement in statements.values():
        subprocess.run([python, "-c", statement], check=True, env=writable)
    times: dict[str, list[float]] = {name: [] for name in names}
    rng = random.Random(0)
    for _ in range(runs):
        rng.shuffle(names)
        for name in names:
            started = _now()
            child = subprocess.run(
                [python, "-c", code[name]], check=True, capture_output=True, text=True
            )
            ended = float(child.stdout.splitlines()[-1])
            times[name].append((ended - started) * 1e3)
    bare = times.pop("(bare)")
    over = {
        name: [t - b for t, b in zip(values, bare, strict=True)] for name, values in times.items()
    }
    results = _summarise(over, baseline or next(iter(statements)), "ms over bare python")
    print_table(results, title)
    return results


def _now() -> float:
    import time

    return time.perf_counter()


def _summarise(samples: Mapping[str, list[float]], baseline: str, unit: str) -> list[Result]:
    base = samples[baseline]
    results = []
    for name, values in samples.items():
        ratios = [v / b for v, b in zip(values, base, strict=True) if b > 0]
        ratio = statistics.median(ratios) if ratios else float("nan")
        results.append(Result(name, statistics.median(values), ratio, unit))
    return results


def print_table(results: list[Result], title: str = "") -> None:
    """A Markdown table, ready for the README."""
    if title:
        print(f"\n### {title}\n")
    unit = results[0].unit if results else ""
    print(f"| variant | {unit} | ratio |")
    print("|---|---:|---:|")
    for r in results:
        print(f"| {r.name} | {r.median:.2f} | {r.ratio:.2f} |")
    sys.stdout.flush()
