"""TLS 1.2 session resumption across the connections of one capture: master secrets remembered by session ID
and by session ticket, for a resumed connection whose own client random is missing from the key log."""
from __future__ import annotations

from typing import Optional

MAX_SESSIONS = 10_000  # oldest entries are forgotten beyond this


class SessionCache:
    """Master secrets learned while decrypting, keyed by session ID or ticket (never shown in any repr)."""

    __slots__ = ("_by_id", "_by_ticket")

    def __init__(self) -> None:
        self._by_id: dict[bytes, bytes] = {}
        self._by_ticket: dict[bytes, bytes] = {}

    def __repr__(self) -> str:
        return f"<SessionCache {len(self._by_id)} session IDs, {len(self._by_ticket)} tickets>"

    def remember(self, master_secret: bytes, session_id: bytes = b"", ticket: bytes = b"") -> None:
        for table, key in ((self._by_id, session_id), (self._by_ticket, ticket)):
            if key:
                table[key] = master_secret
                if len(table) > MAX_SESSIONS:
                    del table[next(iter(table))]

    def find(self, session_id: bytes = b"", ticket: bytes = b"") -> Optional[bytes]:
        """The master secret of a session resumed by this ID or ticket, if it was seen."""
        return (session_id and self._by_id.get(session_id)) or (ticket and self._by_ticket.get(ticket)) or None
