"""The sample-capture scenarios beyond plain ws:// echo peers: wss:// (TLS 1.3 / 1.2 with a key log), Socket.IO v4
and MQTT over WebSocket.  ``make_sample_pcaps.py`` registers and runs them; see its docstring for the capture
procedure.  What they need beyond the standard library:

- ``websockets`` and ``cryptography`` (wss: the self-signed certificate is made at run time),
- ``python-socketio`` with aiohttp (``pip install 'python-socketio[asyncio_client]' aiohttp``),
- ``paho-mqtt`` (``pip install paho-mqtt``) and a mosquitto broker built with websockets support
  (``apt-get install mosquitto``; Debian's 2.0.11 build has it).

Truth is recorded at the WebSocket layer of the peers' own libraries, never derived from the capture:
- websockets: the application's own ``send``/``ping``/``close`` calls, as in the other scenarios;
- aiohttp (under python-engineio, both Socket.IO peers): every frame aiohttp's ``WebSocketWriter.send_frame``
  writes, with its payload as given to it (before compression and masking);
- paho-mqtt (client): every frame its ``_WebsocketWrapper`` builds (``_create_frame``, before masking) and every
  frame its WebSocket reader finishes reading from mosquitto (mosquitto is C and cannot be hooked: its messages are
  recorded as the receiving library decoded them, frame by frame).
The ``.app.jsonl`` sidecars (Socket.IO, MQTT) hold the application units of ``shared/corpus-app/FORMAT.md``, taken
from the peers' own code paths: the Socket.IO units from the packets python-engineio/python-socketio decode with
their own parsers, the MQTT units from the packets paho queues for sending and the packets it hands to its handler.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import ipaddress
import json
import os
import random
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time

from sample_common import C2S, HOST, S2C, TIMEOUT, CaptureError, Truth, endpoint, jdump

WS_OPCODES = {1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}


def add_frame(truth: Truth, client, server, direction: str, opcode: int, payload: bytes,
              app: list[dict] | None = None) -> None:
    """One frame a library sent, as a truth record (a close frame's payload split into code and reason)."""
    kind = WS_OPCODES[opcode]
    if kind == "close":
        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
        truth.add(client, server, direction, kind, close_code=code,
                  close_reason=payload[2:].decode("utf-8"), app=app)
    else:
        truth.add(client, server, direction, kind, payload, app=app)


# -- wss: websockets over TLS with a key log ----------------------------------------------------------------------
def self_signed_certificate(folder: str) -> tuple[str, str]:
    """(certificate path, key path): a fresh P-256 certificate for 127.0.0.1/localhost, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


def tls_contexts(folder: str, version: ssl.TLSVersion, keylog: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts pinned to *version*; the client verifies the certificate and logs its keys."""
    cert, key = self_signed_certificate(folder)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cert)
    client.keylog_filename = keylog
    for ctx in (server, client):
        ctx.minimum_version = ctx.maximum_version = version
    return server, client


def websockets_ends(ws) -> tuple:
    """(client address, server address, sending direction) of a websockets connection object."""
    from websockets.asyncio.client import ClientConnection

    if isinstance(ws, ClientConnection):
        return ws.local_address, ws.remote_address, C2S
    return ws.remote_address, ws.local_address, S2C


async def send_recorded(ws, truth: Truth, data: bytes | str) -> None:
    """A websockets peer sends a message, recorded first."""
    truth.add(*websockets_ends(ws), "binary" if isinstance(data, bytes) else "text", data)
    await ws.send(data)


async def ping_recorded(ws, truth: Truth, data: bytes) -> None:
    """A websockets peer pings and waits for the pong, the ping recorded first."""
    truth.add(*websockets_ends(ws), "ping", data)
    await (await ws.ping(data))


async def wss_session(port: int, truth: Truth, keylog: str, version: ssl.TLSVersion) -> None:
    """websockets server + client over TLS: deflate, JSON text and binary both ways, pings both ways, close 1000."""
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    rng = random.Random(443 + version.value)

    async def handler(ws):
        async for msg in ws:
            if isinstance(msg, bytes):
                await send_recorded(ws, truth, hashlib.sha256(msg).digest() + msg[:48][::-1])
                continue
            req = json.loads(msg)
            if req.get("op") == "ping-me":
                await ping_recorded(ws, truth, b"server-ping-" + req["tag"].encode())
            await send_recorded(ws, truth, jdump({"op": "ack", "id": req.get("id"), "len": len(msg), "echo": req}))

    with tempfile.TemporaryDirectory() as folder:
        server_ctx, client_ctx = tls_contexts(folder, version, keylog)
    async with serve(handler, HOST, port, ssl=server_ctx, ping_interval=None):  # deflate is the default
        async with connect(f"wss://{HOST}:{port}/secure/feed", ssl=client_ctx, ping_interval=None,
                           proxy=None) as ws:
            for i in range(8):
                if i % 3 == 2:
                    await send_recorded(ws, truth, bytes(rng.randrange(256) for _ in range(200 + 150 * i))
                                        + b"\x00" * 300)
                else:
                    await send_recorded(ws, truth, jdump({
                        "op": "ping-me" if i == 4 else "report", "id": i, "tag": f"t{i}",
                        "reading": round(rng.uniform(0, 100), 2), "note": "secure " * rng.randint(1, 9)}))
                await ws.recv()
                if i == 3:
                    await ping_recorded(ws, truth, b"client-ping-" + bytes(rng.randrange(256) for _ in range(6)))
            truth.add(*websockets_ends(ws)[:2], C2S, "close", close_code=1000, close_reason="tls done")
            await ws.close(1000, "tls done")


async def wss_tls13(port: int, truth: Truth, keylog: str) -> None:
    await wss_session(port, truth, keylog, ssl.TLSVersion.TLSv1_3)


async def wss_tls12(port: int, truth: Truth, keylog: str) -> None:
    await wss_session(port, truth, keylog, ssl.TLSVersion.TLSv1_2)


# -- Socket.IO v4 over aiohttp -------------------------------------------------------------------------------------
SOCKETIO_KINDS = ["CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"]


def socketio_units(opcode: int, payload: bytes) -> list[dict]:
    """The units of one WebSocket message of an Engine.IO 4 connection, decoded by the libraries' own parsers."""
    from engineio import packet as eio
    from socketio import packet as sio

    if opcode == 2:  # Engine.IO 4 sends each binary attachment as a bare binary message
        return [{"protocol": "socket.io", "kind": "attachment", "name": None, "id": None}]
    if opcode != 1:
        return []
    outer = eio.Packet(encoded_packet=payload.decode("utf-8"))
    if outer.packet_type != eio.MESSAGE:
        unit = {"protocol": "engine.io", "kind": eio.packet_names[outer.packet_type].lower(), "name": None,
                "id": None}
        if outer.packet_type == eio.OPEN:
            unit["data"] = outer.data
        return [unit]
    inner = sio.Packet(encoded_packet=outer.data)
    kind = SOCKETIO_KINDS[inner.packet_type]
    unit = {"protocol": "socket.io", "kind": kind, "name": None, "id": inner.id,
            "namespace": inner.namespace or "/"}
    if kind in ("EVENT", "BINARY_EVENT"):
        unit["name"] = inner.data[0]
    if kind == "EVENT":
        unit["data"] = inner.data[1:]
    elif kind in ("ACK", "CONNECT", "CONNECT_ERROR") and inner.data is not None:
        unit["data"] = inner.data
    return [unit]


@contextlib.contextmanager
def aiohttp_frames_recorded(truth: Truth, units=None):
    """While open, every frame aiohttp writes (either peer) is recorded in *truth*: the client is the side whose
    writer masks.  *units(opcode, payload)* gives each record's application units."""
    from aiohttp.http_websocket import WebSocketWriter

    original = WebSocketWriter.send_frame

    async def send_frame(writer, message, opcode, compress=None):
        sockname, peername = (writer.transport.get_extra_info(k) for k in ("sockname", "peername"))
        await original(writer, message, opcode, compress)
        client, server = (sockname, peername) if writer.use_mask else (peername, sockname)
        payload = bytes(message)
        add_frame(truth, client, server, C2S if writer.use_mask else S2C, int(opcode), payload,
                  units(int(opcode), payload) if units else None)

    WebSocketWriter.send_frame = send_frame
    try:
        yield
    finally:
        WebSocketWriter.send_frame = original


def socketio_server():
    """A python-socketio server (WebSocket transport only, 1 s Engine.IO ping interval) with a chat namespace."""
    import socketio

    sio = socketio.AsyncServer(async_mode="aiohttp", transports=["websocket"], ping_interval=1, ping_timeout=5)

    @sio.on("hello")
    async def hello(sid, name, meta):
        await sio.emit("welcome", {"to": name, "server": "python-socketio", "meta": meta}, to=sid)

    @sio.on("join", namespace="/chat")
    async def join(sid, data):
        await sio.enter_room(sid, data["room"], namespace="/chat")
        await sio.emit("joined", {"room": data["room"], "members": 1}, to=sid, namespace="/chat")

    @sio.on("message", namespace="/chat")
    async def message(sid, data):
        await sio.emit("message", {**data, "echo": True}, room=data["room"], namespace="/chat")

    @sio.on("add", namespace="/chat")
    async def add(sid, numbers):
        return {"sum": sum(numbers)}, "ok"  # a tuple: several ack arguments

    @sio.on("upload", namespace="/chat")
    async def upload(sid, meta, blob):
        await sio.emit("stored", {"name": meta["name"], "sha256": hashlib.sha256(blob).hexdigest(),
                                  "head": blob[:16]}, to=sid, namespace="/chat")

    @sio.on("leave", namespace="/chat")
    async def leave(sid):
        await sio.disconnect(sid, namespace="/chat")  # a server-sent DISCONNECT for the namespace

    return sio


async def socketio_chat(port: int, truth: Truth) -> None:
    import socketio
    from aiohttp import web

    rng = random.Random(4040)
    inbox: asyncio.Queue = asyncio.Queue()
    app = web.Application()
    socketio_server().attach(app)
    runner = web.AppRunner(app, access_log=None)
    with aiohttp_frames_recorded(truth, socketio_units):
        await runner.setup()
        await web.TCPSite(runner, HOST, port).start()
        try:
            client = socketio.AsyncClient(reconnection=False)
            for event, ns in (("welcome", "/"), ("joined", "/chat"), ("message", "/chat"), ("stored", "/chat"),
                              ("disconnect", "/chat")):
                client.on(event, lambda *args, _e=event: inbox.put_nowait((_e, args)), namespace=ns)
            await client.connect(f"http://{HOST}:{port}", transports=["websocket"], namespaces=["/", "/chat"],
                                 wait_timeout=10)
            await client.emit("hello", ("ada", {"lang": "en", "tz": "+01:00"}))
            await inbox.get()
            await client.emit("join", {"room": "lobby"}, namespace="/chat")
            await inbox.get()
            for i in range(3):
                await client.emit("message", {"room": "lobby", "seq": i, "text": f"hello #{i} — ünïcode ✓"},
                                  namespace="/chat")
                await inbox.get()
            assert await client.call("add", [1, 2, 39], namespace="/chat", timeout=10) == ({"sum": 42}, "ok")
            await asyncio.sleep(1.3)  # one Engine.IO ping/pong round (server ping interval 1 s)
            blob = bytes(rng.randrange(256) for _ in range(600))
            await client.emit("upload", ({"name": "blob.bin", "size": len(blob)}, blob), namespace="/chat")
            assert (await inbox.get())[1][0]["sha256"] == hashlib.sha256(blob).hexdigest()
            await client.emit("leave", namespace="/chat")
            assert (await inbox.get())[0] == "disconnect"
            await client.disconnect()  # python-socketio closes the WebSocket without waiting for its queued packets
            await asyncio.sleep(0.3)  # the server's side of the close
        finally:
            await runner.cleanup()


# -- MQTT over WebSocket: mosquitto + paho-mqtt -------------------------------------------------------------------
MQTT_KINDS = [None, "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE",
              "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"]


def mqtt_unit(command: int, body: bytes) -> dict:
    """The unit of one MQTT 3.1.1 packet (*body*: after the fixed header), as shared/corpus-app/FORMAT.md says."""
    kind = MQTT_KINDS[command >> 4]
    unit: dict = {"protocol": "mqtt", "kind": kind, "name": None, "id": None}
    if kind == "PUBLISH":
        n = struct.unpack_from("!H", body)[0]
        unit["name"], rest = body[2:2 + n].decode("utf-8"), body[2 + n:]
        if (command >> 1) & 3:
            unit["id"], rest = struct.unpack_from("!H", rest)[0], rest[2:]
        with contextlib.suppress(ValueError):
            unit["data"] = json.loads(rest.decode("utf-8"))
    elif kind in ("SUBSCRIBE", "UNSUBSCRIBE"):
        unit["id"], n = struct.unpack_from("!HH", body)
        unit["name"] = body[4:4 + n].decode("utf-8")
    elif kind in ("PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBACK", "UNSUBACK"):
        unit["id"] = struct.unpack_from("!H", body)[0]
    return unit


def strip_fixed_header(packet: bytes) -> bytes:
    i = 1
    while packet[i] & 0x80:
        i += 1
    return packet[i + 1:]


class PahoRecorder:
    """Records what paho-mqtt's WebSocket layer sends and receives (see the module docstring), with MQTT units.

    Frames are kept per connection in order and given to a Truth by :meth:`flush` at the end, because a received
    packet's unit is known only after paho handles it, which is after its frame was read."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, str, str, int, bytes, list[dict]]] = []
        self.units_to_send: dict[bytes, list[dict]] = {}
        self._last_received: dict[int, list[dict]] = {}  # per paho WebSocket: the units of its last frame read
        self._pending_received: dict[int, list[dict]] = {}  # units of packets ending inside an unfinished frame
        self._lock = threading.Lock()
        self._patched: list[tuple[type, str, object]] = []

    def _frame(self, ws, direction: str, opcode: int, payload: bytes, units: list[dict]) -> list[dict]:
        sock = ws._socket
        client, server = endpoint(sock.getsockname()), endpoint(sock.getpeername())
        with self._lock:
            self.frames.append((client, server, direction, opcode, payload, units))
        return units

    def _received(self, ws, frame: bytes) -> None:
        length, at = frame[1] & 0x7F, 2
        if length >= 126:
            fmt = "!H" if length == 126 else "!Q"
            length, at = struct.unpack_from(fmt, frame, 2)[0], at + struct.calcsize(fmt)
        mask, at = (frame[at:at + 4], at + 4) if frame[1] & 0x80 else (b"\0\0\0\0", at)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(frame[at:at + length]))
        units = self._pending_received.pop(id(ws), [])
        self._last_received[id(ws)] = self._frame(ws, S2C, frame[0] & 0x0F, payload, units)

    def __enter__(self) -> "PahoRecorder":
        from paho.mqtt.client import Client, _WebsocketWrapper

        recorder = self
        create_frame, recv_impl = _WebsocketWrapper._create_frame, _WebsocketWrapper._recv_impl
        packet_queue, packet_handle = Client._packet_queue, Client._packet_handle

        def _create_frame(ws, opcode, data, do_masking=1):
            payload = bytes(data)  # before paho masks it in place
            with recorder._lock:
                pending = recorder.units_to_send.get(payload) or [None]
                unit = pending.pop(0)
            recorder._frame(ws, C2S, opcode, payload, [unit] if unit else [])
            return create_frame(ws, opcode, data, do_masking)

        def _recv_impl(ws, length):
            buffer = ws._readbuffer
            try:
                return recv_impl(ws, length)
            finally:
                if ws._readbuffer is not buffer and buffer:  # paho finished a frame and started a new buffer
                    recorder._received(ws, bytes(buffer))

        def _packet_queue(client, command, packet, *args, **kwargs):
            data = bytes(packet)  # its first byte, not *command*, has the PUBLISH flags (QoS)
            with recorder._lock:
                recorder.units_to_send.setdefault(data, []).append(mqtt_unit(data[0], strip_fixed_header(data)))
            return packet_queue(client, command, packet, *args, **kwargs)

        def _packet_handle(client):
            ws = client._sock
            unit = mqtt_unit(client._in_packet["command"], bytes(client._in_packet["packet"]))
            if ws._readbuffer:  # the packet's last byte is inside a frame paho has not finished reading
                recorder._pending_received.setdefault(id(ws), []).append(unit)
            else:
                recorder._last_received[id(ws)].append(unit)
            return packet_handle(client)

        for cls, name, fn in ((_WebsocketWrapper, "_create_frame", _create_frame),
                              (_WebsocketWrapper, "_recv_impl", _recv_impl),
                              (Client, "_packet_queue", _packet_queue), (Client, "_packet_handle", _packet_handle)):
            self._patched.append((cls, name, getattr(cls, name)))
            setattr(cls, name, fn)
        return self

    def __exit__(self, *exc) -> None:
        for cls, name, fn in reversed(self._patched):
            setattr(cls, name, fn)

    def flush(self, truth: Truth) -> None:
        for client, server, direction, opcode, payload, units in self.frames:
            add_frame(truth, client, server, direction, opcode, payload, units)


@contextlib.contextmanager
def mosquitto_broker(ws_port: int):
    """mosquitto with a websockets listener on *ws_port* (and a plain MQTT one on a free port: Debian's 2.0.11
    exits with "Unable to start any listening sockets" when its only listener is a websockets one).  Readiness is
    probed on the plain port, so the probe stays out of the capture."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(binary):
        raise CaptureError("mosquitto not found (apt-get install mosquitto)")
    with socket.socket() as s:
        s.bind((HOST, 0))
        plain_port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        conf = os.path.join(folder, "mosquitto.conf")
        with open(conf, "w", encoding="ascii") as f:
            f.write(f"persistence false\nallow_anonymous true\nlog_dest stderr\n"
                    f"listener {ws_port} {HOST}\nprotocol websockets\nlistener {plain_port} {HOST}\nprotocol mqtt\n")
        proc = subprocess.Popen([binary, "-c", conf], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 10
            while True:
                with contextlib.suppress(OSError), socket.create_connection((HOST, plain_port), timeout=1):
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise CaptureError("mosquitto did not start: " + (proc.stderr.read() if proc.stderr else ""))
                time.sleep(0.1)
            yield
        finally:
            proc.terminate()
            proc.wait(10)


def paho_client(name: str, port: int, keepalive: int):
    """A connected paho-mqtt client (MQTT 3.1.1 over WebSocket, path /mqtt) with its network loop thread running;
    ``client.seen`` holds the callbacks' results for the scenario to wait on."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, transport="websockets",
                         protocol=mqtt.MQTTv311)
    client.ws_set_options(path="/mqtt")
    seen: dict[str, list] = {"connect": [], "subscribe": [], "unsubscribe": [], "message": []}
    cond = threading.Condition()

    def note(kind, value):
        with cond:
            seen[kind].append(value)
            cond.notify_all()

    client.on_connect = lambda c, u, flags, rc, props: note("connect", rc)
    client.on_subscribe = lambda c, u, mid, rcs, props: note("subscribe", mid)
    client.on_unsubscribe = lambda c, u, mid, rcs, props: note("unsubscribe", mid)
    client.on_message = lambda c, u, msg: note("message", (msg.topic, msg.qos, msg.retain, msg.payload))

    def wait(kind: str, count: int = 1) -> None:
        with cond:
            if not cond.wait_for(lambda: len(seen[kind]) >= count, TIMEOUT / 2):
                raise CaptureError(f"paho {name}: no {kind} #{count}")

    client.wait = wait
    client.connect(HOST, port, keepalive=keepalive)
    client.loop_start()
    wait("connect")
    return client


def mqtt_ws(port: int, truth: Truth) -> None:
    """A sensor publishes (QoS 1 retained, then QoS 0/1/2) to a dashboard subscribed with QoS 2 through mosquitto;
    the dashboard's 2 s keepalive makes paho send a PINGREQ; then UNSUBSCRIBE and DISCONNECT from both."""
    rng = random.Random(1883)
    with mosquitto_broker(port), PahoRecorder() as recorder:
        sensor = paho_client("sensor-7", port, keepalive=60)
        status = jdump({"state": "online", "fw": "1.4.2"})
        sensor.publish("sensors/7/status", status, qos=1, retain=True).wait_for_publish(TIMEOUT / 2)
        board = paho_client("dashboard", port, keepalive=2)
        board.subscribe("sensors/#", qos=2)
        board.wait("subscribe")
        board.wait("message")  # the retained status
        for qos in (0, 1, 2):
            reading = jdump({"sensor": 7, "qos": qos, "celsius": round(rng.uniform(15, 30), 2)})
            sensor.publish("sensors/7/temp", reading, qos=qos).wait_for_publish(TIMEOUT / 2)
            board.wait("message", 2 + qos)
        sensor.publish("sensors/7/raw", bytes(rng.randrange(256) for _ in range(64)), qos=1).wait_for_publish(5)
        board.wait("message", 5)
        deadline = time.monotonic() + 6
        while not any(f[2] == S2C and f[4] == b"\xd0\x00" for f in recorder.frames):  # PINGRESP
            if time.monotonic() > deadline:
                raise CaptureError("paho sent no PINGREQ within its keepalive")
            time.sleep(0.1)
        board.unsubscribe("sensors/#")
        board.wait("unsubscribe")
        for client in (board, sensor):
            client.disconnect()
            client.loop_stop()
        time.sleep(0.3)
    recorder.flush(truth)
