"""Time: the real clock, each partner's test clock, the billing period, and the published wire
formats of an instant (seconds for resources, milliseconds for webhooks)."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC
from collections.abc import Callable
from typing import Any

from ..errors import ApiError
from .model import REAL_CLOCK, ClockState
from .ports import Clocks

Clock = Callable[[], datetime]
CLOCK_MIN = datetime(1970, 1, 1, tzinfo=UTC)
CLOCK_MAX = datetime(9000, 1, 1, tzinfo=UTC)


def system_clock() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """The Partner API's instants: whole seconds, UTC, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_time(moment: datetime) -> str:
    """Webhook times: milliseconds, UTC, `Z`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def billing_period(now: datetime) -> tuple[datetime, datetime]:
    """The monthly billing period `now` falls in: [first of the month, first of the next), UTC."""
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def partner_now(tx: Clocks, partner_id: str, real_now: datetime) -> datetime:
    return tx.clock_state(partner_id).now(real_now)


def _checked(state: ClockState, real_now: datetime) -> ClockState:
    now = state.now(real_now)
    if not CLOCK_MIN <= now < CLOCK_MAX:
        raise ApiError(
            "clock_out_of_range", f"The clock would read {now.isoformat()}; it must stay within 1970-01-01..9000-01-01"
        )
    return state


def change_clock(state: ClockState, command: dict[str, Any], real_now: datetime) -> ClockState:
    """Apply one clock command: advance_seconds, set, freeze or real (the spec allows exactly one)."""
    current = state.now(real_now)
    if "advance_seconds" in command:
        step = timedelta(seconds=command["advance_seconds"])
        if state.frozen_at is not None:
            return _checked(ClockState(state.offset, state.frozen_at + step), real_now)
        return _checked(ClockState(state.offset + step, None), real_now)
    if "set" in command:
        try:
            target = datetime.fromisoformat(command["set"]).astimezone(UTC)
        except ValueError:
            raise ApiError("invalid_request", f"set: {command['set']!r} is not an RFC 3339 instant") from None
        if state.frozen_at is not None:
            return _checked(ClockState(state.offset, target), real_now)
        return _checked(ClockState(target - real_now, None), real_now)
    if "freeze" in command:
        if command["freeze"]:
            return ClockState(state.offset, current)
        return ClockState(current - real_now, None)
    return REAL_CLOCK
