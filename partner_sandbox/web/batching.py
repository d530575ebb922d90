"""Writes batched by turn of the event loop: the first item of a turn schedules the write for the
next turn, and the items arriving meanwhile join it. Under load many items share one write (one
log record; for the request journal, one store call of the group commit); when idle an item is
written at the next turn. The request journal and the access log both write this way."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerTurn(Generic[T]):
    def __init__(self, write: Callable[[list[T]], None]):
        self._write = write
        self._pending: list[T] = []

    def add(self, item: T) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append(item)

    def flush(self) -> None:
        items, self._pending = self._pending, []
        if items:
            self._write(items)
