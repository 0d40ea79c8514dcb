"""Rate and cron expressions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from portable_fn._schedule import parse_cron, parse_rate
from portable_fn.errors import ConfigurationError
from portable_fn.triggers import Retry, Schedule

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(2 hours)", timedelta(hours=2)),
        ("rate(1 day)", timedelta(days=1)),
        ("RATE( 3 Days )", timedelta(days=3)),
        ("0 3 * * *", None),
    ],
)
def test_parse_rate(text: str, expected: timedelta | None) -> None:
    assert parse_rate(text) == expected


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 3 * * *", datetime(2026, 11, 23, 13, 0), datetime(2026, 11, 24, 3, 0)),
        ("*/15 * * * *", datetime(2026, 11, 23, 13, 7), datetime(2026, 11, 23, 13, 15)),
        ("0 9 * * MON-FRI", datetime(2026, 11, 21, 10, 0), datetime(2026, 11, 23, 9, 0)),
        ("0 0 1 JAN *", datetime(2026, 11, 23), datetime(2027, 1, 1)),
        ("0 0 29 2 *", datetime(2026, 3, 1), datetime(2028, 2, 29)),
        # day-of-month OR day-of-week when both are restricted (Vixie cron)
        ("0 0 13 * 5", datetime(2026, 11, 1), datetime(2026, 11, 6)),
        ("0 12 * * 7", datetime(2026, 11, 23), datetime(2026, 11, 29, 12, 0)),
        ("cron(30 6 * * *)", datetime(2026, 11, 23, 6, 30), datetime(2026, 11, 24, 6, 30)),
        ("5,10-12 1 * * *", datetime(2026, 11, 23, 1, 10), datetime(2026, 11, 23, 1, 11)),
    ],
)
def test_cron_next_fire_time(expression: str, after: datetime, expected: datetime) -> None:
    cron = parse_cron(expression)
    fired = cron.next_after(after.replace(tzinfo=UTC))
    assert fired == expected.replace(tzinfo=UTC)
    assert cron.matches(fired)


def test_retry_delays_grow_and_cap() -> None:
    policy = Retry(max_retries=6, initial_backoff=1, max_backoff=10, jitter=False)
    assert [policy.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    jittered = Retry(initial_backoff=4, max_backoff=100)
    for n in range(1, 6):
        ceiling = min(100, 4 * 2 ** (n - 1))
        assert ceiling / 2 <= jittered.delay(n) <= ceiling
    assert policy.max_attempts == 7


def test_retry_waits_are_whole_second_ceilings_under_a_cap() -> None:
    policy = Retry(max_retries=5, initial_backoff=0.4, max_backoff=100)
    assert policy.waits(cap=3) == [1, 1, 2, 3, 3]
    assert Retry(max_retries=0).waits(cap=10) == []


def test_retry_delay_past_a_thousand_receives_is_the_cap() -> None:
    """A queue without a redrive policy (an existing one, mapped in) counts receives without
    end; the 1,025th doubled past a float's range and failed its whole batch."""
    assert Retry(jitter=False).delay(1025) == 300
    assert Retry(jitter=False, initial_backoff=0.001, max_backoff=5).delay(10**9) == 5
    assert 150 <= Retry().delay(5000) <= 300


def test_parse_rate_rejects_non_ascii_digits_as_a_configuration_error() -> None:
    assert parse_rate("rate(\u00b2 minutes)") is None  # "²".isdigit() is True; int() refuses it


@pytest.mark.parametrize(
    ("expression", "normalised"),
    [
        ("0 3 ? * *", "0 3 * * *"),
        ("0 3 * * ?", "0 3 * * *"),
        ("0 0 * jan-mar mon-fri", "0 0 * JAN-MAR MON-FRI"),
        ("cron(30 6 * * *)", "30 6 * * *"),
    ],
)
def test_cron_expression_is_normalised_for_the_targets(expression: str, normalised: str) -> None:
    assert parse_cron(expression).expression == normalised


@pytest.mark.parametrize(
    "expression",
    [
        "? * * * *",  # "?" (any day) only stands in a day field
        "0 ? * * *",
        "0 0 ?/2 * *",
        "0 0 ?,1 * *",
        "*/90 * * * *",  # a step past the field's range: meant rate(90 minutes)?
        "0 */24 * * *",
        "0 0 */31 * *",
        "0 0 30 2 *",  # never fires: no February has a 30th
        "0 0 31 4,6,9,11 *",
        "5/ * * * *",  # "/" with no increment: no target's grammar has it
        "*/ * * * *",
        "0 1-5/ * * *",
        "5/+5 * * * *",  # a step is ASCII digits, as a value is
        "5/1_0 * * * *",
    ],
)
def test_cron_the_targets_cannot_take_fails_at_decoration(expression: str) -> None:
    with pytest.raises(ConfigurationError):
        Schedule(expression=expression)


def test_cron_on_a_day_some_month_has_is_accepted() -> None:
    assert parse_cron("0 0 29 2 *").days == frozenset({29})
    assert parse_cron("0 0 31 2 MON").weekdays_restricted  # OR: every Monday still fires


@pytest.mark.parametrize(
    ("expression", "sunday", "field"),
    [
        ("0 9 * * MON-FRI", 1, "2-6"),
        ("0 9 * * 1-5", 0, "1-5"),
        ("0 0 * * 5-7", 0, "0,5-6"),
        ("0 0 * * 7", 1, "1"),
        ("0 0 * * 1-7/2", 0, "0-1,3,5"),
        ("0 0 * * *", 1, "*"),
    ],
)
def test_weekday_field_renumbers_from_sunday(expression: str, sunday: int, field: str) -> None:
    assert parse_cron(expression).weekday_field(sunday) == field


def test_numbered_keeps_the_other_fields_as_normalised() -> None:
    assert parse_cron("*/15 9-17 ? jan mon-fri").numbered(1) == "*/15 9-17 * JAN 2-6"
    assert parse_cron("0 0 1 * *").numbered(0) == "0 0 1 * *"


@pytest.mark.parametrize(
    ("expression", "plain"),
    [
        ("*/15 9-17 ? jan mon-fri", "*/15 9-17 * JAN 1-5"),
        ("5/15 3/6 5/10 JAN/2 *", "5-59/15 3-23/6 5-31/10 1-12/2 *"),
        ("*,30 *,12 *,15 *,JAN *", "0-59,30 0-23,12 1-31,15 1-12,JAN *"),
        ("*/20,5 * * * *", "0-59/20,5 * * * *"),
        # a day of month starting with "*" reads as unrestricted in unix cron (AND): spelled
        # out when the weekday is restricted too, so the OR of the portable meaning holds
        ("0 0 */2 * MON", "0 0 1-31/2 * 1"),
        ("0 0 */2 * *", "0 0 */2 * *"),
    ],
)
def test_numbered_plain_spells_fields_in_unix_cron_syntax(expression: str, plain: str) -> None:
    cron = parse_cron(expression)
    assert cron.numbered(0, plain=True) == plain
    again = parse_cron(plain)
    for field in ("minutes", "hours", "days", "months", "weekdays"):
        assert getattr(again, field) == getattr(cron, field)
    assert (again.days_restricted, again.weekdays_restricted) == (
        cron.days_restricted, cron.weekdays_restricted)


@pytest.mark.parametrize(
    "expression",
    [
        "1_0 * * * *",  # int() reads "1_0" as 10; no cron does, and the text goes to targets raw
        "\u0663 * * * *",  # an Arabic-Indic three: int() reads it, no target does
        "+5 * * * *",
        "0 0 * * 1-+5",
    ],
)
def test_cron_numbers_are_ascii_digits_only(expression: str) -> None:
    with pytest.raises(ConfigurationError):
        Schedule(expression=expression)


def test_a_rate_too_long_for_a_timedelta_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        Schedule(expression="rate(1000000000 days)")


def test_cron_matches_reads_an_aware_time_in_utc() -> None:
    from zoneinfo import ZoneInfo

    cron = parse_cron("0 3 * * *")
    berlin = datetime(2026, 3, 29, 5, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # 03:00 UTC
    assert cron.matches(berlin)
    assert not cron.matches(berlin.replace(hour=3))  # 01:00 UTC
    assert cron.next_after(berlin - timedelta(minutes=1)) == berlin


def test_a_six_field_cron_says_to_drop_the_seconds() -> None:
    """Azure's NCRONTAB (and Quartz) lead with a seconds field: ``0 */5 * * * *`` was refused
    with "cron needs 5 fields" and no word of which one to drop."""
    with pytest.raises(ConfigurationError, match="got 6") as refused:
        parse_cron("0 */5 * * * *")
    assert "drop the seconds field" in str(refused.value)
    with pytest.raises(ConfigurationError, match="drop the seconds field"):
        parse_cron("0 0 12 * * ?")  # Quartz: seconds first, "?" in its day-of-week
    with pytest.raises(ConfigurationError) as four:
        parse_cron("*/5 * * *")
    assert "seconds" not in str(four.value)


@pytest.mark.parametrize(
    ("expression", "portable"),
    [
        ("cron(0 3 * * ? *)", "'0 3 * * *'"),
        ("cron(15 10 ? * MON-FRI *)", "'15 10 * * MON-FRI'"),
        # unwrapped, as copied from a rule's schedule: its "?" day field tells it apart from
        # Quartz's seconds-first form (which has "?" 4th or 6th)
        ("0 9 ? * MON-FRI *", "'0 9 * * MON-FRI'"),
        ("0 3 * * ? *", "'0 3 * * *'"),
    ],
)
def test_an_aws_cron_with_its_year_says_to_drop_the_year(expression: str, portable: str) -> None:
    """EventBridge's ``cron(...)`` has six fields, the last the year
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html#eb-cron-expressions):
    the hint said to drop the first as seconds, which turned "03:00 daily" into "minute 3 of
    every hour"."""
    with pytest.raises(ConfigurationError) as refused:
        parse_cron(expression)
    message = str(refused.value)
    assert "year" in message and portable in message and "seconds" not in message


def test_an_aws_cron_with_numbered_weekdays_says_they_count_from_sunday_as_one() -> None:
    with pytest.raises(ConfigurationError, match=r"'0 9 \* \* MON-FRI'.*1-7 from Sunday"):
        parse_cron("cron(0 9 ? * 2-6 *)")


@pytest.mark.parametrize("expression", ["cron(0 3 ? * 2#1 *)", "cron(0 3 ? * 6L *)",
                                        "cron(0 3 L * ? *)", "cron(0 3 15W * ? *)"])
def test_an_aws_cron_with_l_w_or_hash_is_told_they_have_no_portable_form(expression: str) -> None:
    """The renaming of numbered weekdays made ``2#1`` "MON#SUN": L, W and # have no 5-field
    form, and the hint must not suggest one."""
    with pytest.raises(ConfigurationError, match="no portable form") as refused:
        parse_cron(expression)
    assert "drop it (" not in str(refused.value)
