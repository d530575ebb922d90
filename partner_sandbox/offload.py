"""Store calls off the event loop where they are network round trips: on PostgreSQL each runs in a
worker thread (at most `Store.concurrency` at once, each with its own connection), so no request
waits on another's round trip; on SQLite, a local file, they run on the loop, where a thread hop
would cost more than the call."""

from __future__ import annotations

import typing as t

import anyio.to_thread
from starlette.concurrency import run_in_threadpool

T = t.TypeVar("T")


async def off_loop(resource: t.Any, fn: t.Callable[..., T], *args: t.Any) -> T:
    """fn(*args) for a `resource` (a store, or what keeps its state in one) with its `network` flag."""
    if resource.network:
        return await run_in_threadpool(fn, *args)
    return fn(*args)


def bound_threads(store: t.Any) -> None:
    """Size this event loop's worker threads to the store's connections (in the app's lifespan)."""
    if store.network:
        anyio.to_thread.current_default_thread_limiter().total_tokens = store.concurrency
