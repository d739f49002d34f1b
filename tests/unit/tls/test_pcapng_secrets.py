"""CaptureFile collects the key logs of pcapng Decryption Secrets Blocks (and nothing else changes)."""
import struct

from wsdissect.capture.files import CaptureFile
from wsdissect.tls import KeyLog


def block(btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    length = 12 + len(body)
    return struct.pack("<II", btype, length) + body + struct.pack("<I", length)


def pcapng(keylog: bytes, secrets_type: int = 0x544C534B) -> bytes:
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = block(1, struct.pack("<HHI", 1, 0, 65535))
    dsb = block(0x0A, struct.pack("<II", secrets_type, len(keylog)) + keylog)
    frame = bytes(14) + b"payload"
    epb = block(6, struct.pack("<IIIII", 0, 0, 1, len(frame), len(frame)) + frame)
    return shb + idb + dsb + epb


LINE = b"CLIENT_RANDOM " + b"ab" * 32 + b" " + b"cd" * 48 + b"\n"


def test_tls_key_log_block_is_collected(tmp_path):
    path = tmp_path / "s.pcapng"
    path.write_bytes(pcapng(LINE + b"# comment\n"))
    with CaptureFile(str(path)) as cap:
        records = list(cap)
        assert len(records) == 1 and records[0][0] == 1 and not cap.problems
        assert cap.tls_secrets == [LINE + b"# comment\n"]
    keys = KeyLog()
    assert keys.add_secrets_block(cap.tls_secrets[0]) == 1
    assert keys.lookup("CLIENT_RANDOM", bytes.fromhex("ab" * 32)) == bytes.fromhex("cd" * 48)


def test_other_secret_types_are_ignored(tmp_path):
    path = tmp_path / "w.pcapng"
    path.write_bytes(pcapng(b"wireguard keys", secrets_type=0x57474B4C))
    with CaptureFile(str(path)) as cap:
        assert len(list(cap)) == 1 and cap.tls_secrets == []
