# SPDX-License-Identifier: Apache-2.0
"""Schedule expressions: ``rate(N unit)`` and 5-field cron, parsed once at decoration time.

Rate syntax follows EventBridge Scheduler (https://docs.aws.amazon.com/scheduler/latest/UserGuide/
schedule-types.html#rate-based): ``rate(1 minute)``, ``rate(5 minutes)``, ``rate(1 day)``.
Cron is the classic 5-field form (minute hour day-of-month month day-of-week) that Cloud Scheduler,
Cloudflare Cron Triggers and Kubernetes use; adapters translate it (EventBridge's 6 fields,
Azure's 6-field NCRONTAB). Day-of-month and day-of-week combine with OR when both are restricted,
as in Vixie cron.
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
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in _UNITS:
        return None
    count, unit = int(parts[0]), parts[1].rstrip("s")
    if count < 1:
        raise ConfigurationError(f"rate must be at least 1 {unit}: {expression!r}")
    return timedelta(seconds=count * _UNIT_SECONDS[unit])


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
        if moment.minute not in self.minutes or moment.hour not in self.hours:
            return False
        if moment.month not in self.months:
            return False
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

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


def parse_cron(expression: str) -> Cron:
    """Parse ``m h dom mon dow`` (also written ``cron(m h dom mon dow)``)."""
    text = expression.strip()
    if text.lower().startswith("cron(") and text.endswith(")"):
        text = text[5:-1]
    parts = text.split()
    if len(parts) != 5:
        raise ConfigurationError(
            f"cron needs 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)}: {expression!r}"
        )
    sets = [
        _parse_field(part, name, low, high, names, expression)
        for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True)
    ]
    weekdays = frozenset(d % 7 for d in sets[4])  # 7 is Sunday too
    return Cron(
        expression=" ".join(parts),
        minutes=sets[0],
        hours=sets[1],
        days=sets[2],
        months=sets[3],
        weekdays=weekdays,
        days_restricted=parts[2] not in ("*", "?"),
        weekdays_restricted=parts[4] not in ("*", "?"),
    )


def _parse_field(
    text: str, name: str, low: int, high: int, names: dict[str, int], expression: str
) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if step < 1:
                raise ValueError
            if base in ("*", "?"):
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
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ConfigurationError(
                f"cron {name} field {item!r} is outside {low}-{high} in {expression!r}"
            )
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int]) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    return int(text)
