"""One TLS connection (both directions), sans-IO: fed each direction's reassembled TCP bytes, it returns record
infos, decrypted application data and findings.

    tls = TlsConnection(keylog, conn)
    for item in tls.feed(from_client, data, frame, ts): ...   # TlsRecord | Plaintext | Finding
    tls.gap(from_client, nbytes, frame, ts); tls.end(); tls.info

TLS 1.2 keys come from the ``CLIENT_RANDOM`` master secret (or a session resumed from an earlier connection of
the same capture, via a shared :class:`~wsdissect.tls.resumption.SessionCache`) and take effect at each side's
ChangeCipherSpec; TLS 1.3 keys come from the logged traffic secrets and change after each Finished, KeyUpdate
and EndOfEarlyData.  Each output names the capture frame that carried the last byte of its record.
"""
from __future__ import annotations

from typing import Optional

from ..flow import Conn
from . import handshake as hs
from .alerts import CLOSE_NOTIFY, parse_alert
from .ciphers import SUITES, CipherSuite, suite_name
from . import keylog as labels
from .keysetup import SecretSource, Tls12Decrypters, tls12_decrypters, tls12_master_secret, tls13_resolve
from .outputs import Plaintext, TlsInfo, TlsOutput, TlsRecord
from .records import ALERT, APPLICATION_DATA, CHANGE_CIPHER_SPEC, HANDSHAKE, VERSION_NAMES, RawRecord, \
    StreamProblem
from .resumption import SessionCache
from .reporting import Reporter
from .sender import Sender, State
from .tracker import HandshakeTracker, Step

TLS12, TLS13 = 0x0303, 0x0304
MAX_HELD_BYTES = 1 << 20  # client 0-RTT records held until the ServerHello says how to decrypt them


class HeldRecords:
    """Client records that arrive before the ServerHello (0-RTT data), held until it names the cipher suite."""

    __slots__ = ("records", "size")

    def __init__(self) -> None:
        self.records: list[RawRecord] = []
        self.size = 0

    def hold(self, rec: RawRecord) -> bool:
        """Keep *rec*; False (not kept) beyond MAX_HELD_BYTES."""
        if self.size + len(rec.fragment) > MAX_HELD_BYTES:
            return False
        self.records.append(rec)
        self.size += len(rec.fragment)
        return True

    def take(self) -> list[RawRecord]:
        records, self.records, self.size = self.records, [], 0
        return records


class TlsConnection:
    """The TLS layer of one TCP connection."""

    def __init__(self, secrets: SecretSource, conn: Optional[Conn] = None,
                 sessions: Optional[SessionCache] = None, record_infos: bool = True):
        """*sessions* is shared by the connections of one capture (TLS 1.2 resumption); *record_infos* False
        leaves out the per-record :class:`TlsRecord` outputs (an export needs only data and findings)."""
        self.secrets = secrets
        self.record_infos = record_infos
        self.conn = conn
        self.sessions = sessions if sessions is not None else SessionCache()
        self.client = Sender(True)
        self.server = Sender(False)
        self.hello = HandshakeTracker()
        self._suite: Optional[CipherSuite] = None
        self._tls12: Optional[Tls12Decrypters] = None
        self._master: Optional[bytes] = None
        self._held = HeldRecords()
        self.report = Reporter(conn, self.hello)
        self._last = (0, 0.0)
        self._deferred: list[tuple[Step, Sender]] = []  # key changes that take effect after the record

    # -- public API -------------------------------------------------------------------------------------
    def feed(self, from_client: bool, data: bytes, frame: int, ts: float) -> list[TlsOutput]:
        """The next reassembled bytes of one direction, carried by capture *frame*."""
        self._last = (frame, ts)
        side = self.client if from_client else self.server
        out: list[TlsOutput] = []
        for item in side.stream.feed(data, frame, ts):
            if isinstance(item, StreamProblem):
                self.report.finding(out, item.code, item.message, item.frame, item.ts, from_client)
            else:
                self._record(side, item, out)
        return out

    def gap(self, from_client: bool, nbytes: int, frame: int, ts: float) -> list[TlsOutput]:
        """*nbytes* of one direction are missing from the capture."""
        self._last = (frame, ts)
        out: list[TlsOutput] = []
        side = self.client if from_client else self.server
        side.handshake.reset()
        for item in side.stream.gap(nbytes, frame, ts):
            self.report.finding(out, item.code, item.message, item.frame, item.ts, from_client)
        return out

    def end(self) -> list[TlsOutput]:
        """The connection is over: report records left incomplete."""
        frame, ts = self._last
        out: list[TlsOutput] = []
        for side in (self.client, self.server):
            for item in side.stream.end(frame, ts):
                self.report.finding(out, item.code, item.message, item.frame, item.ts, side.from_client)
        held = self._held.take()
        for rec in held:
            self.client.skipped += 1
            self._info(out, self.client, rec, True)
        if held:
            self.report.once(out, "tls.no_handshake", held[-1], True, f"{self.report.name()} not decrypted: its "
                             "ServerHello is not in the capture")
        return out

    @property
    def info(self) -> TlsInfo:
        """What is known about the connection so far."""
        return self.hello.summary(self.client.opened + self.server.opened, self.client.skipped + self.server.skipped)

    # -- records ----------------------------------------------------------------------------------------
    def _record(self, side: Sender, rec: RawRecord, out: list[TlsOutput]) -> None:
        ctype = rec.content_type
        if ctype == CHANGE_CIPHER_SPEC:
            self._info(out, side, rec, False)
            if self.hello.version != TLS13 and self.hello.server is not None:
                self._change_cipher_spec(side, rec, out)
            return
        if not side.protected or (ctype != APPLICATION_DATA and self.hello.version == TLS13):
            if ctype == APPLICATION_DATA:
                self._unprotected_app_data(side, rec, out)
            else:
                self._content(side, rec, ctype, rec.fragment, False, out)
            return
        if side.awaiting is not None:
            self._resolve(side, rec, out)
        if side.state is not State.KEYED:
            side.skipped += 1
            self._info(out, side, rec, True)
            return
        opened = side.open(rec)
        if opened is not None and opened.content_type == APPLICATION_DATA:  # the common case, kept short
            if self.record_infos:
                out.append(TlsRecord(side.from_client, rec.first_frame, rec.frame, rec.ts, rec.content_type,
                                     rec.version, len(rec.fragment), True, True, None))
            if opened.data:
                out.append(Plaintext(side.from_client, opened.data, rec.frame, rec.ts))
            return
        if opened is not None:
            self._content(side, rec, opened.content_type, opened.data, True, out)
            return
        self._info(out, side, rec, True)
        if side.skip_failures:
            self.report.once(out, "tls.early_data", rec, side.from_client,
                             "0-RTT early data not decrypted (CLIENT_EARLY_TRAFFIC_SECRET not in the key log, "
                             "or the data was refused by a HelloRetryRequest)")
        elif side.state is not State.UNDECRYPTABLE:
            self.report.decrypt_failed(out, side, rec)

    def _unprotected_app_data(self, side: Sender, rec: RawRecord, out: list[TlsOutput]) -> None:
        """Application data before this side's keys are known: 0-RTT data to hold, or a connection whose
        handshake was not captured."""
        if side.from_client and self.hello.client is not None and self.hello.server is None:
            if not self._held.hold(rec):
                side.skipped += 1
                self._info(out, side, rec, True)
                self.report.once(out, "tls.early_data", rec, True, f"more than {MAX_HELD_BYTES} bytes of 0-RTT "
                                 "data before the ServerHello; the rest of it is not decrypted")
            return
        if self.hello.server is None and self.report.cannot_decrypt is None:
            missing = "its handshake is" if self.hello.client is None else "its ServerHello is"
            self.report.once(out, "tls.no_handshake", rec, side.from_client,
                             f"{self.report.name()} not decrypted: {missing} not in the capture")
        side.install(None)
        side.skipped += 1
        self._info(out, side, rec, True)

    def _content(self, side: Sender, rec: RawRecord, ctype: int, data: bytes, decrypted: bool,
                 out: list[TlsOutput]) -> None:
        """A record's plaintext: application data, handshake messages or an alert."""
        after: list[TlsOutput] = []
        types: tuple[int, ...] = ()
        alert = None
        if ctype == APPLICATION_DATA:
            if data:
                after.append(Plaintext(side.from_client, data, rec.frame, rec.ts))
        elif ctype == HANDSHAKE:
            types = self._handshake(side, rec, data, after)
        elif ctype == ALERT:
            alert = parse_alert(data)
            if alert is not None and alert.description != CLOSE_NOTIFY:
                self.report.finding(after, "tls.alert", f"TLS alert: {alert.level_name}, {alert.name}",
                                    rec.frame, rec.ts, side.from_client)
        if self.record_infos:
            out.append(TlsRecord(from_client=side.from_client, first_frame=rec.first_frame, frame=rec.frame,
                                 ts=rec.ts, content_type=rec.content_type, version=rec.version,
                                 length=len(rec.fragment), encrypted=decrypted, decrypted=decrypted,
                                 inner_type=ctype if decrypted and ctype != rec.content_type else None,
                                 handshake_types=types, alert=alert))
        out.extend(after)
        self._run_deferred(rec, out)

    def _info(self, out: list[TlsOutput], side: Sender, rec: RawRecord, encrypted: bool) -> None:
        """The record info of a record whose content is not available (cleartext CCS, or not decrypted)."""
        if self.record_infos:
            out.append(TlsRecord(side.from_client, rec.first_frame, rec.frame, rec.ts, rec.content_type,
                                 rec.version, len(rec.fragment), encrypted, False))

    # -- handshake ----------------------------------------------------------------------------------------
    def _handshake(self, side: Sender, rec: RawRecord, data: bytes, out: list[TlsOutput]) -> tuple[int, ...]:
        """Feed handshake bytes; returns the types of the messages this record completed."""
        messages = side.handshake.feed(data)
        if side.handshake.too_large:
            self.report.once(out, "tls.handshake.malformed", rec, side.from_client,
                             f"TLS handshake message longer than {hs.MAX_MESSAGE} bytes; not decoded")
        for msg in messages:
            step = self.hello.on_message(side.from_client, msg)
            if step is Step.MALFORMED:
                name = hs.HANDSHAKE_NAMES.get(msg.msg_type, f"type {msg.msg_type}")
                self.report.finding(out, "tls.handshake.malformed", f"malformed TLS {name} message", rec.frame,
                                    rec.ts, side.from_client)
            elif step is Step.SERVER_HELLO:
                self._negotiated(rec, out)
            elif step is not Step.NONE and self.hello.version == TLS13:
                self._deferred.append((step, side))
            if msg.msg_type == hs.ENCRYPTED_EXTENSIONS and self.hello.alpn == "h2":
                self.report.alpn_h2(out, rec)
        return tuple(msg.msg_type for msg in messages)

    def _negotiated(self, rec: RawRecord, out: list[TlsOutput]) -> None:
        """The ServerHello fixed version and cipher suite: prepare (TLS 1.2) or install (TLS 1.3) the keys."""
        server, client = self.hello.server, self.hello.client
        if server is None:
            return
        suite = SUITES.get(server.cipher_suite)
        if server.version not in (TLS12, TLS13):
            name = VERSION_NAMES.get(server.version, f"0x{server.version:04x}")
            self.report.cannot(out, rec, "tls.unsupported_version", f"{name} is not decrypted (only TLS 1.2 and 1.3)")
        elif suite is None or suite.tls13 != (server.version == TLS13):
            self.report.cannot(out, rec, "tls.unsupported_cipher",
                         f"cipher suite {suite_name(server.cipher_suite)} is not decrypted")
        elif client is None:
            self.report.cannot(out, rec, "tls.no_handshake", "its ClientHello is not in the capture; not decrypted")
        else:
            self._suite = suite
            if server.version == TLS13:
                self.server.await_secret(labels.SERVER_HANDSHAKE)
                self.client.await_secret(labels.CLIENT_HANDSHAKE)
        if server.alpn == "h2":
            self.report.alpn_h2(out, rec)
        for item in self._held.take():
            self._record(self.client, item, out)

    def _prepare_tls12(self) -> None:
        client, server, suite = self.hello.client, self.hello.server, self._suite
        if client is None or server is None or suite is None:
            return
        master = tls12_master_secret(self.secrets, self.sessions, client, server, self.hello.resumed)
        if master is not None:
            self._master = master
            self.sessions.remember(master, session_id=server.session_id)
            self._tls12 = tls12_decrypters(suite, master, client.random, server.random,
                                           server.encrypt_then_mac and not suite.aead)

    def _resolve(self, side: Sender, rec: RawRecord, out: list[TlsOutput]) -> None:
        """TLS 1.3: look up the secret this side's records are now under."""
        if self._suite is None:
            side.awaiting = None
            return
        missing = tls13_resolve(self.secrets, self._suite, self.hello, side)
        if missing:
            self.report.no_keys(out, rec, f"{missing} not in the key log")

    def _change_cipher_spec(self, side: Sender, rec: RawRecord, out: list[TlsOutput]) -> None:
        """TLS 1.2: this side's next records are protected.  The master secret is looked up at the first one (a
        key log that grows during the handshake has it by then)."""
        if not side.from_client:
            self.hello.abbreviated()
        if self._tls12 is None:
            self._prepare_tls12()
        if not side.from_client and self._master is not None and self.hello.ticket:
            self.sessions.remember(self._master, ticket=self.hello.ticket)  # its NewSessionTicket came just before
        if self._tls12 is not None:
            side.install(self._tls12.client if side.from_client else self._tls12.server)
            return
        side.install(None)
        if self.report.cannot_decrypt is None:
            self.report.no_keys(out, rec, "no CLIENT_RANDOM line for its client random in the key log")

    def _run_deferred(self, rec: RawRecord, out: list[TlsOutput]) -> None:
        """TLS 1.3 key changes announced by the record just processed."""
        deferred, self._deferred = self._deferred, []
        suite, client = self._suite, self.hello.client
        for step, side in deferred:
            if suite is None or client is None or side.state is not State.KEYED:
                continue  # without keys the handshake messages are not seen, so this does not happen
            if step is Step.FINISHED and not side.early:
                side.await_secret(labels.CLIENT_TRAFFIC_0 if side.from_client else labels.SERVER_TRAFFIC_0)
            elif step is Step.KEY_UPDATE:
                side.key_update()
            elif step is Step.END_OF_EARLY_DATA and side.early:
                side.end_early_data()
