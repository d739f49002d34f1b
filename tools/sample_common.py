"""What the sample-capture scenarios share: the loopback address, the directions, the ground-truth recorder.

Imported by ``make_sample_pcaps.py`` and ``sample_scenarios_more.py`` (both run from this folder, so a plain
``import sample_common`` finds it).  Like them it never imports wsdissect: the truth must not depend on the tool.
"""
from __future__ import annotations

import base64
import json
import struct
import threading

HOST = "127.0.0.1"
TIMEOUT = 20.0  # seconds any one scenario may take before it is declared hung

C2S, S2C = "client_to_server", "server_to_client"


class CaptureError(RuntimeError):
    pass


def endpoint(addr) -> str:
    """A socket address tuple as the truth format writes it: ``ip:port`` or ``[ipv6]:port``."""
    ip, port = addr[0], addr[1]
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def jdump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


class Truth:
    """What the applications sent, appended by the sending code at the moment it sends (thread-safe).

    ``app`` (optional) is the list of application-level units the message carries, in the format of
    ``shared/corpus-app/FORMAT.md``; when any record has it, :meth:`write_app` writes the ``.app.jsonl`` sidecar."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.app_units: list[list[dict] | None] = []
        self._lock = threading.Lock()

    def add(self, client, server, direction: str, opcode: str, payload: bytes | str = b"",
            close_code: int | None = None, close_reason: str | None = None, app: list[dict] | None = None) -> None:
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        if opcode == "close":
            payload = struct.pack("!H", close_code) + (close_reason or "").encode("utf-8")
            close_reason = close_reason or ""
        rec = {"client": client if isinstance(client, str) else endpoint(client),
               "server": server if isinstance(server, str) else endpoint(server),
               "direction": direction, "opcode": opcode,
               "payload_b64": base64.b64encode(payload).decode("ascii"),
               "close_code": close_code, "close_reason": close_reason}
        with self._lock:
            self.records.append(rec)
            self.app_units.append(app)

    @property
    def has_app(self) -> bool:
        return any(units is not None for units in self.app_units)

    def write(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            for r in self.records:
                f.write(json.dumps(r, ensure_ascii=True) + "\n")

    def write_app(self, path: str) -> None:
        """The truth records again, each with ``"app"``: its units (``[]`` when it carries none)."""
        with open(path, "w", encoding="utf-8") as f:
            for r, units in zip(self.records, self.app_units):
                f.write(json.dumps({**r, "app": units or []}, ensure_ascii=True) + "\n")
