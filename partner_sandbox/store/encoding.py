"""The one way the stores keep an instant: microseconds since the Unix epoch, UTC, as an integer.
(The wire formats, seconds for resources and milliseconds for webhooks, are written at the edge:
domain/clock.py's rfc3339 and event_time.)"""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // _US


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def opt_us(moment: datetime | None) -> int | None:
    return None if moment is None else to_us(moment)


def opt_instant(value: int | None) -> datetime | None:
    return None if value is None else from_us(value)


def seconds_to_us(seconds: float) -> int:
    """A `time.time()` reading (the outbox's schedule, the rate buckets)."""
    return round(seconds * 1_000_000)


def us_to_seconds(value: int) -> float:
    return value / 1_000_000
