"""A connection's writes of one turn of the event loop go out as one write (web/protocol.py): a
response's head and body are one system call; closing flushes first, aborting drops."""

from __future__ import annotations

import asyncio

from partner_sandbox.web.protocol import _CorkedTransport


class Recording:
    def __init__(self):
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name):
        return ("127.0.0.1", 1) if name == "peername" else None


def test_the_writes_of_one_turn_are_one_write_and_close_flushes_first():
    async def scenario():
        real = Recording()
        corked = _CorkedTransport(real, asyncio.get_running_loop())
        corked.write(b"HTTP/1.1 200 OK\r\n\r\n")
        corked.writelines([b"{", b"}"])
        assert real.writes == []  # not yet: at the end of the turn
        await asyncio.sleep(0)
        assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
        corked.write(b"next")
        corked.close()  # flushed before the close, not lost
        assert real.writes[-1] == b"next" and real.closed
        await asyncio.sleep(0)
        assert len(real.writes) == 2  # the scheduled flush finds nothing left
        assert corked.get_extra_info("peername") == ("127.0.0.1", 1) and corked.is_closing()

    asyncio.run(scenario())


def test_abort_drops_what_is_pending_and_nothing_is_written_to_a_closing_transport():
    async def scenario():
        real = Recording()
        corked = _CorkedTransport(real, asyncio.get_running_loop())
        corked.write(b"dropped")
        corked.abort()
        await asyncio.sleep(0)
        assert real.writes == [] and real.aborted
        other = Recording()
        corked = _CorkedTransport(other, asyncio.get_running_loop())
        corked.write(b"late")
        other.closed = True  # the peer went away meanwhile
        await asyncio.sleep(0)
        assert other.writes == []

    asyncio.run(scenario())
