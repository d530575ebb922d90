"""How store calls run. On PostgreSQL each runs in a worker thread (at most `Store.concurrency` at
once, each with its own connection), so no request waits on another's round trip. On SQLite, a local
file, they run on the event loop, where a thread hop would cost more than the call; and the calls
the requests of one turn of the loop make (`StoreCalls`) run together at the next turn, in one
transaction (group commit), so that they share its lock, its BEGIN and its COMMIT."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import typing as t

import anyio.to_thread
from starlette.concurrency import run_in_threadpool

T = t.TypeVar("T")
log = logging.getLogger("partner_sandbox.store")


async def off_loop(resource: t.Any, fn: t.Callable[..., T], *args: t.Any) -> T:
    """fn(*args) for a `resource` (a store, or what keeps its state in one) with its `network` flag."""
    if resource.network:
        return await run_in_threadpool(fn, *args)
    return fn(*args)


def bound_threads(store: t.Any) -> None:
    """Size this event loop's worker threads to the store's connections (in the app's lifespan)."""
    if store.network:
        anyio.to_thread.current_default_thread_limiter().total_tokens = store.concurrency


def _not_kept(fn: t.Callable[..., t.Any], error: BaseException) -> None:
    """A store call nobody waits for failed: said in the log."""
    log.error("store call %s not kept: %s", getattr(fn, "__qualname__", "?"), error)


class _Call(t.NamedTuple):
    context: contextvars.Context
    fn: t.Callable[..., t.Any]
    args: tuple
    answer: asyncio.Future | None  # None: a record nobody waits for (submit)


class StoreCalls:
    """Store calls answered only once what they stored is stored.

    On a local store the calls of one turn of the event loop run at the next turn, one after another
    in the order they came, inside one `store.group()`: one transaction, each of a call's
    transactions a savepoint of it (a failing transaction rolls back alone, as it would on its own).
    Each call's result is given once the group has committed; when the group cannot commit, every
    call of it gets the store's error (a 503) and nothing of it was stored. When idle, a call runs at
    the next turn, alone. A call that only reads runs at once. On a networked store each call runs in
    a worker thread, in transactions of its own (off_loop)."""

    def __init__(self, store: t.Any):
        self.store = store
        self._pending: list[_Call] = []
        self._scheduled: asyncio.AbstractEventLoop | None = None  # the loop whose next turn runs them

    async def call(self, fn: t.Callable[..., T], *args: t.Any, writes: bool = True) -> T:
        """fn(*args), its transactions stored before its result is given. A call that only reads
        (not `writes`) runs at once, alone: on a local store in read-only transactions
        (`store.reading()`), which wait for no writer."""
        if self.store.network:
            return await off_loop(self.store, fn, *args)
        if not writes:
            with self.store.reading():
                return fn(*args)
        answer = asyncio.get_running_loop().create_future()
        self._add(_Call(contextvars.copy_context(), fn, args, answer))
        return await answer

    def submit(self, fn: t.Callable[..., t.Any], *args: t.Any) -> None:
        """fn(*args) with nobody waiting for it: a record (the journal), written as
        `transaction(durable=False)` writes, unless a call of its group is durable. A failure is
        logged."""
        if self.store.network:
            asyncio.ensure_future(off_loop(self.store, self._logged, fn, args))
            return
        self._add(_Call(contextvars.copy_context(), fn, args, None))

    def _add(self, call: _Call) -> None:
        loop = asyncio.get_running_loop()
        if not self._pending or self._scheduled is not loop:  # (a loop may close with a run pending)
            loop.call_soon(self._run)
            self._scheduled = loop
        self._pending.append(call)

    @staticmethod
    def _logged(fn: t.Callable[..., t.Any], args: tuple) -> None:
        try:
            fn(*args)
        except Exception as exc:
            _not_kept(fn, exc)

    def _run(self) -> None:
        calls, self._pending = [p for p in self._pending if p.answer is None or not p.answer.done()], []
        if not calls:
            return
        outcome: list[tuple[t.Any, BaseException | None]] | None = None
        try:
            results: list[tuple[t.Any, BaseException | None]] = []
            with self.store.group(durable=any(call.answer is not None for call in calls)):
                for call in calls:
                    try:
                        results.append((call.context.run(call.fn, *call.args), None))
                    except Exception as exc:  # that call's own failure, its savepoints rolled back
                        results.append((None, exc))
            outcome = results
        except Exception as exc:  # the group did not commit: nothing of it was stored
            outcome = [(None, exc)] * len(calls)
        finally:  # even on an exception that is no Exception (the group rolled back), every call is answered
            if outcome is None:
                outcome = [(None, RuntimeError("store calls interrupted: nothing of them was stored"))] * len(calls)
            for call, (result, error) in zip(calls, outcome, strict=True):
                if call.answer is None:
                    if error is not None:
                        _not_kept(call.fn, error)
                elif not call.answer.done():
                    if error is not None:
                        call.answer.set_exception(error)
                    else:
                        call.answer.set_result(result)
