"""End to end on ../shared/corpus-tls (real peers: Python websockets and aiohttp, Node ws; TLS 1.2 and 1.3):
every connection whose keys are logged decrypts completely, the decrypted streams are exactly an HTTP upgrade
followed by whole WebSocket frames, the messages match the case's ground truth, and the connection facts
(version, cipher suite, resumption) match its meta.json.  A connection without keys is reported."""
from __future__ import annotations

import base64
import json
import pathlib

import pytest

from wsdissect.capture.files import CaptureFile
from wsdissect.tls import KeyLog

from .capture_feed import run_capture

ROOT = pathlib.Path(__file__).resolve().parents[3]
CANDIDATES = [ROOT.parent / "shared" / "corpus-tls", ROOT.parent.parent / "shared" / "corpus-tls"]
CORPUS = next((c for c in CANDIDATES if c.is_dir()), None)
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "meta.json").is_file()) if CORPUS else []
OPCODES = {"text": 1, "binary": 2}


def ws_frames(stream: bytes):
    """(frames, complete): the WebSocket frames after the HTTP head; complete when they end exactly at the end."""
    head_end = stream.index(b"\r\n\r\n") + 4
    frames, pos, n = [], head_end, len(stream)
    while pos < n:
        if pos + 2 > n:
            return frames, False
        b0, b1 = stream[pos], stream[pos + 1]
        length, hl = b1 & 0x7F, 2
        if length == 126:
            length, hl = int.from_bytes(stream[pos + 2:pos + 4], "big"), 4
        elif length == 127:
            length, hl = int.from_bytes(stream[pos + 2:pos + 10], "big"), 10
        mask = stream[pos + hl:pos + hl + 4] if b1 & 0x80 else None
        hl += 4 if mask else 0
        end = pos + hl + length
        if end > n:
            return frames, False
        payload = stream[pos + hl:end]
        if mask:
            payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload)) if length < 4096 else None
        frames.append((b0 & 0x0F, bool(b0 & 0x80), bool(b0 & 0x40), payload))
        pos = end
    return frames, True


def check_messages(frames, truth_rows):
    """Data messages counted per direction equal the truth; whole uncompressed ones carry a truth payload."""
    ended = [f for f in frames if f[1] and f[0] in (0, 1, 2)]
    expected = [r for r in truth_rows if r["opcode"] in OPCODES]
    assert len(ended) == len(expected)
    payloads = {base64.b64decode(r["payload_b64"]) for r in expected}
    plain = [f for f in frames if f[1] and f[0] in (1, 2) and not f[2] and f[3] is not None]
    assert all(f[3] in payloads for f in plain)


def load(case: str):
    folder = CORPUS / case
    meta = json.loads((folder / "meta.json").read_text())
    truth = [json.loads(line) for line in (folder / "truth.jsonl").read_text().splitlines() if line.strip()]
    capture = next(folder / n for n in ("capture.pcap", "capture.pcapng") if (folder / n).exists())
    return folder, meta, truth, capture


@pytest.mark.skipif(CORPUS is None, reason="../shared/corpus-tls not present")
@pytest.mark.parametrize("case", CASES)
def test_corpus_tls_case(case):
    folder, meta, truth, capture = load(case)
    keys = KeyLog()
    use_dsb = not (folder / "keys.log").exists()
    if not use_dsb:
        keys.add_file(str(folder / "keys.log"))
    results = run_capture(str(capture), keys, use_dsb=use_dsb)
    assert not keys.warnings
    expected = {c["client"]: c for c in meta["tls_connections"]}
    by_client = {r.conn.client: r for r in results}
    assert set(expected) <= set(by_client)
    for client, facts in expected.items():
        result = by_client[client]
        info = result.tls.info
        assert info.version == facts["tls_version"] and info.cipher_suite == facts["cipher_iana"]
        assert info.resumed == facts["session_reused"]
        if not facts["keys_in_keylog"]:
            assert result.codes() == ["tls.no_keys"] and client in result.findings[0].message
            assert not info.decrypted and not result.plaintext[True] and not result.plaintext[False]
            continue
        assert result.codes() == [] and info.records_not_decrypted == 0
        upstream, downstream = bytes(result.plaintext[True]), bytes(result.plaintext[False])
        assert upstream.startswith(b"GET ") and downstream.startswith(b"HTTP/1.1 101")
        rows = [r for r in truth if r["client"] == client]
        for stream, direction in ((upstream, "client_to_server"), (downstream, "server_to_client")):
            frames, complete = ws_frames(stream)
            assert complete, f"{direction}: decrypted bytes do not end on a WebSocket frame boundary"
            check_messages(frames, [r for r in rows if r["direction"] == direction])
        assert any(f[0] == 8 for f in ws_frames(upstream)[0] + ws_frames(downstream)[0])


@pytest.mark.skipif(CORPUS is None, reason="../shared/corpus-tls not present")
def test_pcapng_decryption_secrets_block_is_collected():
    folder = CORPUS / "tls_pcapng_embedded_secrets"
    with CaptureFile(str(folder / "capture.pcapng")) as cap:
        records = sum(1 for _ in cap)
        assert len(cap.tls_secrets) == 1 and records > 0
        keys = KeyLog()
        assert keys.add_secrets_block(cap.tls_secrets[0]) >= 4 and not keys.warnings
