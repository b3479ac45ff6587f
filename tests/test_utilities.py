"""joule_sync.utilities: upstream's time helpers without dateparser."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from joule_sync.utilities import human_to_timestamp, time_now, timestamp_to_human, yesno

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@pytest.fixture
def local_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC-5 (no DST) for the test, then back to what it was."""
    monkeypatch.setenv("TZ", "EST+05")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)


def test_time_now_is_the_current_time_in_microseconds():
    before = time.time_ns() // 1000
    now = time_now()
    after = time.time_ns() // 1000
    assert isinstance(now, int)
    assert before <= now <= after


def test_timestamp_to_human_prints_local_time_with_its_offset(local_tz):
    assert timestamp_to_human(1551795387204004) == "Tue, 05 Mar 2019 09:16:27 -0500"


def test_timestamp_to_human_names_the_extremes():
    assert timestamp_to_human(-(2**63)) == "(minimum)"
    assert timestamp_to_human(2**63 - 1) == "(maximum)"


@pytest.mark.parametrize("value", [1700000000000000, "1700000000000000", " 1700000000000000 "])
def test_integers_are_timestamps_already(value):
    assert human_to_timestamp(value) == 1700000000000000


def test_negative_integers_too():
    assert human_to_timestamp("-5") == -5


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("now", 0),
        ("NOW", 0),
        ("today", 0),
        ("yesterday", -DAY),
        ("tomorrow", DAY),
        ("1 minute ago", -MINUTE),
        ("a minute ago", -MINUTE),
        ("one minute ago", -MINUTE),
        ("2 days ago", -2 * DAY),
        ("an hour ago", -HOUR),
        ("3 hrs ago", -3 * HOUR),
        ("1.5 hours ago", -HOUR - 30 * MINUTE),
        ("1 hour 30 minutes ago", -HOUR - 30 * MINUTE),
        ("1 hour, 30 minutes ago", -HOUR - 30 * MINUTE),
        ("1 hour and 30 minutes ago", -HOUR - 30 * MINUTE),
        ("1h30m ago", -HOUR - 30 * MINUTE),
        ("10 seconds ago", -10 * SECOND),
        ("10 secs ago", -10 * SECOND),
        ("5 ms ago", -5000),
        ("250 us ago", -250),
        ("2 weeks ago", -14 * DAY),
        ("in 3 weeks", 21 * DAY),
        ("in 2 hours", 2 * HOUR),
    ],
)
def test_relative_times_count_from_now(text, offset):
    before = time_now()
    value = human_to_timestamp(text)
    after = time_now()
    assert before + offset <= value <= after + offset


def test_months_and_years_are_calendar_months_and_years(local_tz):
    now = datetime.now().astimezone()
    value = human_to_timestamp("2 months ago")
    moment = datetime.fromtimestamp(value / 1e6).astimezone()
    expected_month = (now.month - 3) % 12 + 1
    assert moment.month == expected_month
    assert human_to_timestamp("1 year ago") < human_to_timestamp("11 months ago")
    assert abs(human_to_timestamp("1 year ago") - (time_now() - 365 * DAY)) <= DAY + SECOND


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05T08:16:27Z", datetime(2024, 3, 5, 8, 16, 27, tzinfo=timezone.utc)),
        ("2024-03-05T08:16:27z", datetime(2024, 3, 5, 8, 16, 27, tzinfo=timezone.utc)),
        ("2024-03-05T08:16:27+00:00", datetime(2024, 3, 5, 8, 16, 27, tzinfo=timezone.utc)),
        (
            "2024-03-05 08:16:27.500000+01:00",
            datetime(2024, 3, 5, 7, 16, 27, 500000, tzinfo=timezone.utc),
        ),
        ("Tue, 05 Mar 2019 08:16:27 +0000", datetime(2019, 3, 5, 8, 16, 27, tzinfo=timezone.utc)),
        ("Tue, 05 Mar 2019 08:16:27 UTC", datetime(2019, 3, 5, 8, 16, 27, tzinfo=timezone.utc)),
    ],
)
def test_times_with_a_zone_are_exact(text, expected):
    assert human_to_timestamp(text) == us(expected)


EST = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=EST)),
        ("2024-03-05T08:16:27", datetime(2024, 3, 5, 8, 16, 27, tzinfo=EST)),
        ("2024-03-05 14:30", datetime(2024, 3, 5, 14, 30, tzinfo=EST)),
        ("2024/03/05", datetime(2024, 3, 5, tzinfo=EST)),
        ("2024/03/05 14:30:15", datetime(2024, 3, 5, 14, 30, 15, tzinfo=EST)),
        ("03/05/2024", datetime(2024, 3, 5, tzinfo=EST)),
        ("5 March 2024", datetime(2024, 3, 5, tzinfo=EST)),
        ("5 Mar 2024", datetime(2024, 3, 5, tzinfo=EST)),
        ("March 5, 2024", datetime(2024, 3, 5, tzinfo=EST)),
        ("Mar 5 2024 2:30 PM", datetime(2024, 3, 5, 14, 30, tzinfo=EST)),
        ("  March   5,  2024 ", datetime(2024, 3, 5, tzinfo=EST)),
    ],
)
def test_times_without_a_zone_are_local_time(local_tz, text, expected):
    assert human_to_timestamp(text) == us(expected)


def test_what_timestamp_to_human_prints_reads_back(local_tz):
    timestamp = 1551795387000000
    assert human_to_timestamp(timestamp_to_human(timestamp)) == timestamp


@pytest.mark.parametrize(
    "text",
    ["", "banana", "2 bananas ago", "in 2 days ago", "ago", "1.5 months ago", "31/31/2024"],
)
def test_anything_else_is_a_value_error_naming_the_input(text):
    with pytest.raises(ValueError, match="time") as error:
        human_to_timestamp(text)
    assert repr(text) in str(error.value)


@pytest.mark.parametrize("value", [None, 1.5, True, b"now"])
def test_non_strings_are_refused(value):
    with pytest.raises(ValueError, match="time string or an integer"):
        human_to_timestamp(value)


@pytest.mark.parametrize(("text", "answer"), [("yes", True), ("no", False), (" YES ", True)])
def test_yesno(text, answer):
    assert yesno(text) is answer


@pytest.mark.parametrize("text", ["y", "true", "", None])
def test_yesno_refuses_anything_else(text):
    with pytest.raises(ValueError, match="'yes' or 'no'"):
        yesno(text)
