# SPDX-License-Identifier: Apache-2.0
"""Schedule expressions: ``rate(N unit)`` and 5-field cron, parsed once at decoration time.

Rate syntax follows EventBridge Scheduler (https://docs.aws.amazon.com/scheduler/latest/UserGuide/
schedule-types.html#rate-based): ``rate(1 minute)``, ``rate(5 minutes)``, ``rate(1 day)``.
Cron is the classic 5-field form (minute hour day-of-month month day-of-week, 0 or 7 = Sunday)
that Cloud Scheduler and Kubernetes use; adapters translate it (EventBridge's 6 fields, Azure's
6-field NCRONTAB, Cloudflare's weekdays 1-7 from Sunday). Day-of-month and day-of-week combine with
OR when both are restricted, as in Vixie cron; a field is restricted unless it is exactly ``*`` or
``?``, so ``*/2`` is (as Cloudflare reads it; Vixie cron would take a leading ``*`` as
unrestricted, which is why ``Cron.numbered(plain=True)`` spells such a day field out). ``?`` (any
day) is taken alone in those two fields, as EventBridge writes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from portable_fn._value import Value
from portable_fn.errors import ConfigurationError

_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_UNITS = frozenset(("minute", "minutes", "hour", "hours", "day", "days"))
_MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
_MONTH_DAYS = dict(zip(range(1, 13), (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), strict=True))
# (name, low, high, names)
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
)


def parse_rate(expression: str) -> timedelta | None:
    """``rate(N unit)`` as a timedelta; None when the text is not a rate expression."""
    # Parsed by hand, not with a regex: this module loads on every cold start of an app with
    # a schedule, and compiling the pattern cost more than the rest of the module.
    text = expression.strip().lower()
    if not (text.startswith("rate(") and text.endswith(")")):
        return None
    parts = text[5:-1].split()
    if len(parts) != 2 or not (parts[0].isascii() and parts[0].isdigit()) or parts[1] not in _UNITS:
        return None
    count, unit = int(parts[0]), parts[1].rstrip("s")
    if count < 1:
        raise ConfigurationError(f"rate must be at least 1 {unit}: {expression!r}")
    try:
        return timedelta(seconds=count * _UNIT_SECONDS[unit])
    except OverflowError:  # past timedelta's 999,999,999 days: a bare error at decoration
        raise ConfigurationError(f"rate is too long: {expression!r}") from None


class Cron(Value):
    """A parsed 5-field cron expression (UTC)."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def matches(self, moment: datetime) -> bool:
        """Whether ``moment`` falls in a matching minute. An aware time is converted to UTC
        first, as ``next_after`` converts it (its local fields matched before); a naive one
        is read as UTC."""
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc)
        if moment.minute not in self.minutes or moment.hour not in self.hours:
            return False
        if moment.month not in self.months:
            return False
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

    def numbered(self, sunday: int = 0, *, plain: bool = False) -> str:
        """The five fields with the day of week as ``weekday_field(sunday)``: for a target that
        numbers weekdays its own way, or reads steps and ``7`` differently.

        ``plain`` writes the other fields in the syntax every unix cron documents (lists of
        values, ``a-b`` and ``a-b/n`` or ``*/n``): a step from one value (``5/15``) as the range
        it covers (``5-59/15``), a ``*`` inside a list as ``low-high``, and a day of month that
        starts with ``*`` (``*/2``) as ``1-31/2`` when the weekday is restricted too, since
        unix cron reads a day field that starts with ``*`` as unrestricted (AND, not OR)."""
        minute, hour, day, month, _ = self.expression.split()
        if plain:
            minute, hour, month = (_plain(minute, 0), _plain(hour, 1), _plain(month, 3))
            day = _plain(day, 2, star=self.days_restricted and self.weekdays_restricted)
        return f"{minute} {hour} {day} {month} {self.weekday_field(sunday)}"

    def weekday_field(self, sunday: int = 0) -> str:
        """The day-of-week field as numbered lists and ranges, with Sunday as ``sunday``
        (0 for NCRONTAB, 1 for EventBridge and Cloudflare); ``*`` when unrestricted."""
        if not self.weekdays_restricted:
            return "*"
        days = sorted(self.weekdays)
        runs: list[list[int]] = []
        for day in days:
            if runs and day == runs[-1][-1] + 1:
                runs[-1].append(day)
            else:
                runs.append([day])
        return ",".join(
            str(run[0] + sunday) if len(run) == 1 else f"{run[0] + sunday}-{run[-1] + sunday}"
            for run in runs
        )

    def next_after(self, moment: datetime) -> datetime:
        """The first matching minute strictly after ``moment`` (UTC)."""
        candidate = moment.astimezone(timezone.utc).replace(second=0, microsecond=0)
        candidate += timedelta(minutes=1)
        # Walk by day while the date cannot match, then by minute: at most ~4 years of days.
        for _ in range(366 * 5 * 24 * 60):
            if candidate.month not in self.months or not self._day_ok(candidate):
                candidate = (candidate + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if candidate.hour not in self.hours:
                candidate = (candidate + timedelta(hours=1)).replace(minute=0)
                continue
            if candidate.minute in self.minutes:
                return candidate
            candidate += timedelta(minutes=1)
        raise ConfigurationError(f"cron {self.expression!r} never fires")

    def _day_ok(self, moment: datetime) -> bool:
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok


def _aws_hint(parts: list[str]) -> str:
    """How an EventBridge ``cron(min hour dom month dow year)`` is written here
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html)."""
    if parts[5] not in ("*", "?"):
        return ": EventBridge's sixth field is the year, and a schedule here runs every year"
    fields = ["*" if part == "?" else part for part in parts[:5]]
    if any(mark in " ".join(fields[2:5]) for mark in ("L", "W", "#")):
        # Quartz's last (L), weekday (W) and nth (#) have no form in 5-field cron.
        return (": EventBridge's sixth field is the year, and L, W and # (last, nearest "
                "weekday, nth weekday) have no portable form: run daily and test the date")
    renumbered = any(c.isdigit() for c in fields[4])
    if renumbered and "/" not in fields[4]:
        # EventBridge numbers weekdays 1-7 from Sunday, this cron 0-6: named, they are the same.
        import re

        fields[4] = re.sub(
            r"[1-7]\b", lambda m: _DAY_NAMES[int(m.group()) - 1], fields[4]
        )
    hint = f": EventBridge's sixth field is the year: drop it ({' '.join(fields)!r})"
    if renumbered:
        hint += (" (EventBridge numbers weekdays 1-7 from Sunday, this cron 0-6: "
                 "names such as MON-FRI mean the same on both)")
    return hint


_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def parse_cron(expression: str) -> Cron:
    """Parse ``m h dom mon dow`` (also written ``cron(m h dom mon dow)``).

    ``expression`` is the normalised text: upper-case names, ``?`` (any day) written ``*``.
    """
    text = expression.strip()
    aws = text.lower().startswith("cron(") and text.endswith(")")
    if aws:
        text = text[5:-1]
    parts = text.split()
    if len(parts) != 5:
        # Azure's NCRONTAB and Quartz put seconds first: six fields, the first of them seconds;
        # EventBridge's cron(...) puts the year last.
        hint = ""
        if len(parts) == 6:
            # EventBridge's form unwrapped: "?" in its day fields (the 3rd or 5th; Quartz, with
            # seconds first, has them 4th and 6th) or a year last.
            eventbridge = aws or "?" in (parts[2], parts[4]) or (
                len(parts[5]) == 4 and parts[5].isdigit())
            hint = _aws_hint(parts) if eventbridge else ": drop the seconds field (the first of 6)"
        raise ConfigurationError(
            f"cron needs 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)}: {expression!r}{hint}"
        )
    sets = [
        _parse_field(part, name, low, high, names, expression)
        for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True)
    ]
    weekdays = frozenset(d % 7 for d in sets[4])  # 7 is Sunday too
    days_restricted = parts[2] not in ("*", "?")
    weekdays_restricted = parts[4] not in ("*", "?")
    if days_restricted and not weekdays_restricted and not any(
        day <= _MONTH_DAYS[month] for day in sets[2] for month in sets[3]
    ):
        raise ConfigurationError(f"cron {expression!r} never fires: no month has that day")
    return Cron(
        expression=" ".join("*" if part == "?" else part.upper() for part in parts),
        minutes=sets[0],
        hours=sets[1],
        days=sets[2],
        months=sets[3],
        weekdays=weekdays,
        days_restricted=days_restricted,
        weekdays_restricted=weekdays_restricted,
    )


def _parse_field(
    text: str, name: str, low: int, high: int, names: dict[str, int], expression: str
) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        try:
            # A step is ASCII digits, as a value is (``_value``): "5/" or "5/+5" reads as no
            # increment in no target's grammar, and the text goes to the targets as written.
            step = _value(step_text, {}) if slash else 1
            if step < 1:
                raise ValueError
            if base == "*" or (text == "?" and name.startswith("day-of-")):
                start, end = low, high
            elif "-" in base:
                a, b = base.split("-", 1)
                start, end = _value(a, names), _value(b, names)
            else:
                start = _value(base, names)
                end = high if step_text else start
        except ValueError:
            raise ConfigurationError(
                f"cron {name} field {item!r} is invalid in {expression!r}"
            ) from None
        if step > high - low:
            raise ConfigurationError(
                f"cron {name} field {item!r} steps past the whole {low}-{high} range in "
                f"{expression!r}"
            )
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ConfigurationError(
                f"cron {name} field {item!r} is outside {low}-{high} in {expression!r}"
            )
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _plain(text: str, index: int, *, star: bool = False) -> str:
    """One parsed field (``_FIELDS[index]``) in plain unix-cron syntax; see ``Cron.numbered``."""
    _, low, high, names = _FIELDS[index]
    items = text.split(",")
    out = []
    for item in items:
        base, slash, step = item.partition("/")
        if base == "*":
            if star or len(items) > 1:
                base = f"{low}-{high}"
        elif slash and "-" not in base:
            base = f"{_value(base, names)}-{high}"
        out.append(base + slash + step)
    return ",".join(out)


def _value(text: str, names: dict[str, int]) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    # ASCII digits only: int() also reads "1_0", "+5" and non-ASCII digits ("\u0663"), which
    # no cron target takes, and the expression goes to the targets as written.
    if not (text.isascii() and text.isdigit()):
        raise ValueError(text)
    return int(text)
