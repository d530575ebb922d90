"""Secrets never reach a log line or the journal: one redaction, every logger through it."""

from __future__ import annotations

import logging

from partner_sandbox.errors import ApiError
from partner_sandbox.offload import StoreCalls
from partner_sandbox.redaction import install_log_redaction, redact_log_text
from partner_sandbox.store import SqliteStore
from partner_sandbox.web.journal import RequestJournal

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJwYXJ0bmVyX2lkIjoicCJ9.c2lnbmF0dXJl"


def test_each_kind_of_secret_is_redacted_from_a_line():
    line = (f"HTTP Request: POST http://user:PASSWORD@host:81/ok?sig=SECRET&x=1 \"HTTP/1.1 200 OK\" "
            f"Authorization: Bearer opaque-123 Proxy-Authorization: Basic dXNlcjpwdw== token={JWT} GET /qr//tok_abc/scan {{\"token\": \"pub_1\"}}")
    out = redact_log_text(line)
    for secret in ("PASSWORD", "user:", "SECRET", "x=1", "opaque-123", "dXNlcjpwdw==", JWT, "tok_abc", "pub_1"):
        assert secret not in out, (secret, out)
    assert "http://<redacted>@host:81/ok?<redacted>" in out and "/qr/<redacted>/scan" in out


def test_every_logger_third_party_included_is_redacted(caplog):
    install_log_redaction()
    install_log_redaction()  # once is enough; twice changes nothing
    with caplog.at_level(logging.INFO):
        logging.getLogger("httpx").info("HTTP Request: %s %s", "POST", "http://u:PW@h/x?sig=S")
        try:
            raise ValueError(f"failed on http://u:PW@h/x with {JWT}")
        except ValueError:
            logging.getLogger("some.library").exception("boom %s", JWT)
    text = caplog.text
    assert "PW" not in text and "sig=S" not in text and JWT not in text, text
    assert "http://<redacted>@h/x?<redacted>" in text and "ValueError" in text


def test_a_journal_that_cannot_be_written_warns_and_keeps_serving(caplog):
    def unavailable(entries):
        raise ApiError("service_unavailable", "The database cannot be written")

    journal = RequestJournal(None, prefix="/p", record=unavailable, redact=str, authenticate=lambda *_: "partner",
                             calls=StoreCalls(SqliteStore(":memory:")))
    with caplog.at_level(logging.WARNING):
        journal._write([("partner", {"path": "/p/x"})])
    assert "1 entries not kept: The database cannot be written" in caplog.text


def test_the_access_log_writes_the_lines_of_one_loop_turn_as_one_record_and_redacted(caplog):
    import asyncio

    from partner_sandbox.web.guard import AccessLog

    install_log_redaction()
    access = AccessLog()

    async def requests_ending() -> None:
        for n in range(3):  # three requests ending in one turn of the loop
            access.add(f'{{"request_id": "r{n}", "path": "/qr/tok_{n}"}}')
        await asyncio.sleep(0)  # the next turn writes them
        await asyncio.sleep(0)
        access.add(f'{{"request_id": "alone", "token": "{JWT}"}}')  # idle: a line of its own, at once
        await asyncio.sleep(0)

    with caplog.at_level(logging.INFO, logger="partner_sandbox.access"):
        asyncio.run(requests_ending())
    records = [r.getMessage() for r in caplog.records if r.name == "partner_sandbox.access"]
    assert len(records) == 2 and [len(r.splitlines()) for r in records] == [3, 1]
    assert "tok_" not in "".join(records) and JWT not in records[1] and '"request_id": "r2"' in records[0]
