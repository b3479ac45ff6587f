"""Time helpers of upstream ``joule.utilities``: timestamps are integer UNIX microseconds.

``human_to_timestamp`` understands the forms people type and upstream (through dateparser)
accepts, with the standard library only:

* an integer, or a string of one: taken as a timestamp as it is;
* ``now``, ``today``, ``yesterday``, ``tomorrow`` (the current time, shifted by a day);
* relative times: ``1 minute ago``, ``2 days ago``, ``an hour ago``, ``1 hour 30 minutes ago``,
  ``in 3 weeks`` (units from microseconds to years, singular, plural or abbreviated);
* ISO 8601: ``2024-03-05``, ``2024-03-05T08:16:27``, ``2024-03-05 08:16:27.5+01:00``,
  ``...Z``;
* what ``timestamp_to_human`` prints (``Tue, 05 Mar 2019 08:16:27 +0000``), and common
  dates such as ``2024/03/05``, ``03/05/2024`` (month first), ``5 March 2024``,
  ``March 5, 2024`` or ``Mar 5 2024``, each optionally followed by a time
  (``14:30``, ``14:30:15``, ``2:30 PM``).

Times without a UTC offset are local time, as with upstream.  Anything else raises
``ValueError`` naming the input, instead of guessing.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import datetime, timedelta, timezone

from ._models import ConnectionInfo

__all__ = [
    "ConnectionInfo",
    "human_to_timestamp",
    "time_now",
    "timestamp_to_human",
    "yesno",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)
MIN_TIMESTAMP = -(2**63)
MAX_TIMESTAMP = 2**63 - 1


def time_now() -> int:
    """The current time in UNIX microseconds."""
    return time.time_ns() // 1000


def timestamp_to_human(timestamp: int) -> str:
    """A timestamp as local time with its UTC offset, e.g. ``Tue, 05 Mar 2019 08:16:27 +0000``.

    The extreme timestamps print as ``(minimum)`` and ``(maximum)``, as upstream's do.
    """
    if timestamp == MIN_TIMESTAMP:
        return "(minimum)"
    if timestamp == MAX_TIMESTAMP:
        return "(maximum)"
    moment = (_EPOCH + timedelta(microseconds=int(timestamp))).astimezone()
    return moment.strftime("%a, %d %b %Y %H:%M:%S %z")


def human_to_timestamp(time: str | int) -> int:
    """A time given as a person would write it (see the module doc) in UNIX microseconds."""
    if isinstance(time, int) and not isinstance(time, bool):
        return time
    if not isinstance(time, str):
        raise ValueError(f"expected a time string or an integer timestamp, not {time!r}")
    text = " ".join(time.strip().split())
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    lowered = text.lower()
    now = datetime.now().astimezone()
    if lowered in _DAY_WORDS:
        return _to_timestamp(now + timedelta(days=_DAY_WORDS[lowered]))
    relative = _parse_relative(lowered, now)
    if relative is not None:
        return _to_timestamp(relative)
    absolute = _parse_absolute(text)
    if absolute is not None:
        return _to_timestamp(absolute)
    raise ValueError(
        f"cannot read {time!r} as a time: use a timestamp, 'now', '2 days ago', "
        "'2024-03-05 14:30' or another form listed in joule_sync.utilities"
    )


def yesno(val: str) -> bool:
    """``"yes"`` → True, ``"no"`` → False (any case); anything else raises ValueError.

    Meant as an argparse ``type`` for yes/no module arguments.
    """
    if isinstance(val, str):
        answer = val.strip().lower()
        if answer in ("yes", "no"):
            return answer == "yes"
    raise ValueError(f"must be 'yes' or 'no', not {val!r}")


def _to_timestamp(moment: datetime) -> int:
    """Exact microseconds since the epoch; a naive ``moment`` is local time."""
    return (moment.astimezone() - _EPOCH) // _ONE_US


_DAY_WORDS = {"now": 0, "today": 0, "yesterday": -1, "tomorrow": 1}

_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}

_UNITS = {
    "microsecond": "microseconds",
    "us": "microseconds",
    "millisecond": "milliseconds",
    "ms": "milliseconds",
    "second": "seconds",
    "sec": "seconds",
    "s": "seconds",
    "minute": "minutes",
    "min": "minutes",
    "m": "minutes",
    "hour": "hours",
    "hr": "hours",
    "h": "hours",
    "day": "days",
    "d": "days",
    "week": "weeks",
    "wk": "weeks",
    "w": "weeks",
    "month": "months",
    "mon": "months",
    "year": "years",
    "yr": "years",
    "y": "years",
}

# a number, or a number word followed by a space ("an hour", not "a" + "n hour")
_AMOUNT = r"(\d+(?:\.\d+)?|(?:" + "|".join(_NUMBER_WORDS) + r")(?=\s))"
_PART = _AMOUNT + r"\s*([a-z]+)"
_RELATIVE = re.compile(
    r"(?:in\s+)?((?:" + _PART + r")(?:\s*,?\s*(?:and\s+)?" + _PART + r")*)(\s+ago)?"
)


def _parse_relative(text: str, now: datetime) -> datetime | None:
    """``N unit [M unit ...] ago`` or ``in N unit ...``; None if ``text`` is not one."""
    match = _RELATIVE.fullmatch(text)
    if match is None or text.startswith("in ") == bool(match.group(6)):
        return None  # neither "in ..." nor "... ago", or both
    sign = -1 if match.group(6) else 1
    moment = now
    for amount_text, unit_text in re.findall(_PART, match.group(1)):
        unit = _UNITS.get(unit_text) or _UNITS.get(unit_text.removesuffix("s"))
        if unit is None:
            return None
        amount = sign * float(_NUMBER_WORDS.get(amount_text, amount_text))
        if unit in ("months", "years"):
            if not amount.is_integer():
                raise ValueError(f"cannot read {text!r} as a time: months and years are whole")
            moment = _add_months(moment, int(amount) * (12 if unit == "years" else 1))
        else:
            moment += timedelta(**{unit: amount})
    return moment


def _add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later (earlier if negative), clamped to the month's last day."""
    month_index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


_DATE_FORMATS = (
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%B %d %Y",
    "%b %d %Y",
    "%a, %d %b %Y",
)
_TIME_FORMATS = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", " %I:%M %p", " %I:%M:%S %p")
_ZONE_FORMATS = ("", " %z", " %Z")


def _parse_absolute(text: str) -> datetime | None:
    """An ISO 8601 time or one of the common date forms; None if ``text`` is neither."""
    iso = text[:-1] + "+00:00" if text[-1:] in "zZ" and text[:1].isdigit() else text
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    for date_format in _DATE_FORMATS:
        for time_format in _TIME_FORMATS:
            for zone_format in _ZONE_FORMATS:
                try:
                    moment = datetime.strptime(text, date_format + time_format + zone_format)
                except ValueError:
                    continue
                if zone_format == " %Z" and moment.tzinfo is None:
                    # strptime accepts UTC/GMT (and the local zone names) without setting tzinfo
                    zone = text.rsplit(" ", 1)[1].upper()
                    moment = (
                        moment.replace(tzinfo=timezone.utc) if zone in ("UTC", "GMT") else moment
                    )
                return moment
    return None
