"""Messages sent through the Public API (the Messages port)."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from ..domain.model import SentMessage
from .encoding import from_us, to_us
from .schema import messages
from .statements import InsertFn, Row, Rows, Statement, statement

_COLUMNS = ["uid", "workspace_id", "user_id", "sender_phone", "sender_name", "recipient_phone", "text", "file_uid",
            "attachment_template_id", "label", "credits", "created_at"]
_OF_WORKSPACE = messages.c.workspace_id == bindparam("workspace_id")


def _message(row: Row) -> SentMessage:
    return SentMessage(row["uid"], row["workspace_id"], row["user_id"], row["sender_phone"], row["sender_name"],
                       row["recipient_phone"], row["text"], row["file_uid"], row["attachment_template_id"],
                       row["label"], row["credits"], from_us(row["created_at"]))


@statement
def _add_message(insert: InsertFn) -> Statement:
    return insert(messages).values({name: bindparam(name) for name in _COLUMNS})


@statement
def _message_of(_: InsertFn) -> Statement:
    return select(messages).where(_OF_WORKSPACE, messages.c.uid == bindparam("uid"))


@statement
def _messages_of(_: InsertFn) -> Statement:
    return select(messages).where(_OF_WORKSPACE).order_by(messages.c.created_at.desc(), messages.c.uid).limit(
        bindparam("limit"))


class MessageRows(Rows):
    def add_message(self, message: SentMessage) -> None:
        self._run(_add_message, uid=message.uid, workspace_id=message.workspace_id, user_id=message.user_id,
                  sender_phone=message.sender_phone, sender_name=message.sender_name,
                  recipient_phone=message.recipient_phone, text=message.text, file_uid=message.file_uid,
                  attachment_template_id=message.attachment_template_id, label=message.label,
                  credits=message.credits, created_at=to_us(message.created_at))

    def message(self, workspace_id: str, uid: str) -> SentMessage | None:
        row = self._one(_message_of, workspace_id=workspace_id, uid=uid)
        return _message(row) if row else None

    def messages(self, workspace_id: str, limit: int) -> list[SentMessage]:
        """The workspace's messages, newest first."""
        return [_message(row) for row in self._all(_messages_of, workspace_id=workspace_id, limit=limit)]
