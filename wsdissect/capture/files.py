"""Read pcap and pcapng files (optionally gzip-compressed, or stdin) as raw records.

A struct-based reader: it parses record headers by offset from large chunks, which is several times faster than
scapy's ``RawPcapReader`` (see benchmarks/) and lets a damaged file yield every record before the damage.

Contract: ``CaptureFile(path)`` opens and checks the magic (raising :class:`CaptureError` for anything that is not
a capture); iterating yields ``(frame_no, ts, linktype, data, wire_len)``; problems met while reading (a record cut
off, a corrupt block) are appended to ``problems`` as ``(code, message, frame_no)`` and end the iteration.
TLS key logs embedded in a pcapng (Decryption Secrets Blocks of type TLSK) are appended to ``tls_secrets`` as
they are read: a DSB comes before the packets it decrypts, so it is there when those packets are yielded.
"""
from __future__ import annotations

import gzip
import os
import stat
import struct
import sys
import zlib
from typing import BinaryIO, Iterator

from ..errors import CaptureError
from ..speedups import speedups
from .layers import LINKTYPE_NAMES, SUPPORTED_LINKTYPES
from .remote import is_url, open_url

CHUNK = 1 << 20
MAX_RECORD = 256 << 20  # larger "records" mean a corrupt header

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
PCAPNG_DSB = 0x0000000A  # Decryption Secrets Block
DSB_TLS_KEYLOG = 0x544C534B  # "TLSK": an NSS key log
GZIP_MAGIC = b"\x1f\x8b"

Record = tuple  # (frame_no, ts, linktype, data, wire_len)


class _Chunks:
    """A forward-only byte buffer over a file object, refilled in large chunks."""

    __slots__ = ("f", "read", "buf", "pos", "eof", "error")

    def __init__(self, f: BinaryIO, head: bytes = b""):
        self.f = f
        # a GzipFile's read1 returns what it has decompressed so far, so damage loses no earlier record
        self.read = f.read1 if isinstance(f, gzip.GzipFile) else f.read
        self.buf = head
        self.pos = 0
        self.eof = False
        self.error: str | None = None

    def ensure(self, n: int) -> bool:
        """Make at least *n* bytes available from ``pos``; False at end of input."""
        while len(self.buf) - self.pos < n:
            if self.eof:
                return False
            try:
                chunk = self.read(max(CHUNK, n))
            except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as e:
                self.error = f"compressed stream is damaged ({e})" if not isinstance(e, OSError) or \
                    isinstance(e, gzip.BadGzipFile) else f"read error: {e.strerror or e}"
                chunk = b""
            if not chunk:
                self.eof = True
                continue
            self.buf = self.buf[self.pos:] + chunk
            self.pos = 0
        return True

    def remaining(self) -> int:
        return len(self.buf) - self.pos


def _open(path: str) -> tuple[BinaryIO, str]:
    """Open *path* ("-" for stdin) and return a binary file object plus a display name."""
    if path == "-":
        return sys.stdin.buffer, "<stdin>"
    if is_url(path):
        return open_url(path), path
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CaptureError(f"{path}: no such file") from None
    except OSError as e:
        raise CaptureError(f"{path}: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise CaptureError(f"{path}: is a directory, not a capture file")
    try:
        return open(path, "rb", buffering=0), path
    except OSError as e:
        raise CaptureError(f"{path}: {e.strerror}") from None


class CaptureFile:
    """One capture source.  Iterate for records; check ``problems`` afterwards."""

    def __init__(self, path: str, first_frame: int = 1):
        self.path = path
        self.first_frame = first_frame
        self.problems: list[tuple[str, str, int]] = []
        self.tls_secrets: list[bytes] = []  # key log texts from pcapng Decryption Secrets Blocks
        self.records_read = 0
        raw, self.name = _open(path)
        self._raw = raw
        f: BinaryIO = raw
        try:
            head = self._read_head(f, 4)
        except (OSError, EOFError) as e:
            raw.close()
            raise CaptureError(f"{self.name}: cannot read: {getattr(e, 'strerror', None) or e}") from None
        if head[:2] == GZIP_MAGIC:
            f = gzip.GzipFile(fileobj=_Prefixed(head, raw), mode="rb")  # type: ignore[assignment]
            try:
                head = self._read_head(f, 4)
            except (OSError, EOFError, zlib.error) as e:
                raw.close()
                raise CaptureError(f"{self.name}: damaged gzip data ({e})") from None
        self._f = f
        if not head:
            raise CaptureError(f"{self.name}: empty file, not a capture")
        if head in PCAP_MAGICS:
            self.format = "pcap"
            try:
                head += self._read_head(f, 20)
            except (OSError, EOFError, zlib.error) as e:
                raw.close()
                raise CaptureError(f"{self.name}: damaged gzip data ({e})") from None
            if len(head) == 24:
                endian = PCAP_MAGICS[head[:4]][0]
                linktype = struct.unpack_from(endian + "I", head, 20)[0] & 0x0FFFFFFF
                if linktype not in SUPPORTED_LINKTYPES:
                    raw.close()
                    raise CaptureError(f"{self.name}: link type {linktype} is not supported (supported: "
                                       + ", ".join(sorted(set(LINKTYPE_NAMES.values()))) + ")")
        elif head == PCAPNG_MAGIC:
            self.format = "pcapng"
        else:
            raise CaptureError(f"{self.name}: not a pcap or pcapng capture (magic {head.hex()})")
        self._head = head
        self.size = None
        try:
            if f is raw and path != "-":
                self.size = os.fstat(raw.fileno()).st_size
        except OSError:
            pass

    @staticmethod
    def _read_head(f: BinaryIO, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = f.read(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    @property
    def bytes_read(self) -> int:
        """Bytes consumed from the underlying file so far (for progress bars)."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        if self._raw is not sys.stdin.buffer:
            self._raw.close()

    def __enter__(self) -> "CaptureFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self) -> Iterator[Record]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[Record] | tuple[Record, ...]]:
        """The records in batches (as the C reader takes them from the buffer: up to 4096 at a time), for the
        driver's hot loop: one generator step per batch instead of two per record."""
        chunks = _Chunks(self._f, self._head)
        if self.format == "pcap":
            yield from self._pcap(chunks)
        else:
            for rec in self._pcapng(chunks):
                yield (rec,)
        if chunks.error:
            if self.problems:  # one warning: the damage in the compressed stream is why the capture ends early
                code, message, frame = self.problems[-1]
                self.problems[-1] = (code, f"{message}; {chunks.error}", frame)
            else:
                self._problem("capture.truncated", f"{self.name}: {chunks.error}")

    def _problem(self, code: str, message: str) -> None:
        self.problems.append((code, message, self.first_frame + self.records_read))

    # -- pcap ---------------------------------------------------------------------------------------------
    def _pcap(self, c: _Chunks) -> Iterator[list[Record] | tuple[Record, ...]]:
        if not c.ensure(24):
            self._problem("capture.truncated", f"{self.name}: pcap file header cut short")
            return
        endian, unit = PCAP_MAGICS[c.buf[c.pos:c.pos + 4]]
        _vmaj, _vmin, _zone, _sig, snaplen, linktype = struct.unpack_from(endian + "HHiIII", c.buf, c.pos + 4)
        linktype &= 0x0FFFFFFF  # upper bits may carry FCS information
        c.pos += 24
        rec = struct.Struct(endian + "IIII")
        unpack = rec.unpack_from
        frame = self.first_frame
        limit = max(MAX_RECORD, snaplen if snaplen < (1 << 30) else 0)
        batch = speedups.pcap_records if speedups is not None else None
        little = endian == "<"
        while True:
            if batch is not None:  # the C reader takes every record lying whole in the buffer
                recs, pos = batch(c.buf, c.pos, frame, little, unit, linktype, limit, 4096)
                if recs:
                    c.pos = pos
                    frame += len(recs)
                    yield recs
                    self.records_read += len(recs)
                    continue
            buf, pos = c.buf, c.pos
            if len(buf) - pos < 16:
                if not c.ensure(16):
                    if c.remaining():
                        self._problem("capture.truncated",
                                      f"{self.name}: capture ends inside a record header (packet {frame})")
                    return
                buf, pos = c.buf, c.pos
            sec, frac, incl, orig = unpack(buf, pos)
            if incl > limit:
                self._problem("capture.corrupt",
                              f"{self.name}: record {frame} claims {incl} captured bytes; file is damaged")
                return
            end = pos + 16 + incl
            if end > len(buf):
                if not c.ensure(16 + incl):
                    self._problem("capture.truncated",
                                  f"{self.name}: capture cut off inside packet {frame} "
                                  f"({c.remaining() - 16} of {incl} bytes present)")
                    return
                buf, pos = c.buf, c.pos
                end = pos + 16 + incl
            c.pos = end
            self.records_read += 1
            yield ((frame, sec + frac * unit, linktype, buf[pos + 16:end], orig),)
            frame += 1

    # -- pcapng -------------------------------------------------------------------------------------------
    def _section_endian(self, bom: bytes) -> str | None:
        """The byte order a pcapng section header's byte-order magic says (None: a problem, reported)."""
        if bom == b"\x4d\x3c\x2b\x1a":
            return "<"
        if bom == b"\x1a\x2b\x3c\x4d":
            return ">"
        self._problem("capture.corrupt", f"{self.name}: bad pcapng byte-order magic {bom.hex()}")
        return None

    def _block(self, c: _Chunks, endian: str, frame: int) -> tuple[int, int, bytes, int] | None:
        """The next whole pcapng block, checked: ``(type, length, buffer, position)``; None after a problem."""
        buf, pos = c.buf, c.pos
        btype_n, blen = struct.unpack_from(endian + "II", buf, pos)
        if blen < 12 or blen % 4 or blen > MAX_RECORD:
            self._problem("capture.corrupt", f"{self.name}: pcapng block of bad length {blen} (before packet {frame})")
            return None
        if not c.ensure(blen):
            self._problem("capture.truncated", f"{self.name}: capture cut off inside a pcapng block (packet {frame})")
            return None
        buf, pos = c.buf, c.pos
        c.pos = pos + blen
        if struct.unpack_from(endian + "I", buf, pos + blen - 4)[0] != blen:
            self._problem("capture.corrupt",
                          f"{self.name}: pcapng block trailer does not match its length (packet {frame})")
            return None
        return btype_n, blen, buf, pos

    def _pcapng(self, c: _Chunks) -> Iterator[Record]:
        frame = self.first_frame
        endian = "<"
        ifaces: list[tuple[int, float, float]] = []  # (linktype, ts unit, ts offset)
        while True:
            if not c.ensure(12):
                if c.remaining():
                    self._problem("capture.truncated", f"{self.name}: capture ends inside a block header")
                return
            buf, pos = c.buf, c.pos
            if buf[pos:pos + 4] == PCAPNG_MAGIC:  # a section begins: its byte order, no interfaces yet
                endian = self._section_endian(buf[pos + 8:pos + 12])
                if endian is None:
                    return
                ifaces = []
            block = self._block(c, endian, frame)
            if block is None:
                return
            btype_n, blen, buf, pos = block
            body = pos + 8
            if btype_n in (6, 2, 3) and blen < (16 if btype_n == 3 else 32):
                self._problem("capture.corrupt", f"{self.name}: packet block of {blen} bytes is too short "
                              f"(packet {frame})")
                return
            if btype_n == 6 or btype_n == 2:  # Enhanced Packet Block, obsolete Packet Block
                if btype_n == 6:
                    iface, ts_hi, ts_lo, caplen, wirelen = struct.unpack_from(endian + "IIIII", buf, body)
                else:
                    iface, _drops, ts_hi, ts_lo, caplen, wirelen = struct.unpack_from(endian + "HHIIII", buf, body)
                if iface >= len(ifaces) or 20 + caplen > blen - 12:
                    self._problem("capture.corrupt", f"{self.name}: bad packet block (packet {frame})")
                    return
                lt, unit, off = ifaces[iface]
                data = buf[body + 20:body + 20 + caplen]
                ts = ((ts_hi << 32) | ts_lo) * unit + off
            elif btype_n == 3:  # Simple Packet Block
                if not ifaces:
                    self._problem("capture.corrupt", f"{self.name}: packet block before any interface")
                    return
                (wirelen,) = struct.unpack_from(endian + "I", buf, body)
                caplen = min(wirelen, blen - 16)
                lt, unit, off = ifaces[0]
                data = buf[body + 4:body + 4 + caplen]
                ts = 0.0
            elif btype_n == 1:  # Interface Description Block
                lt = struct.unpack_from(endian + "H", buf, body)[0]
                ifaces.append((lt,) + _idb_time(buf, body + 8, pos + blen - 4, endian))
                continue
            elif btype_n == PCAPNG_DSB and blen >= 20:
                stype, slen = struct.unpack_from(endian + "II", buf, body)
                if stype == DSB_TLS_KEYLOG and slen <= blen - 20:
                    self.tls_secrets.append(bytes(buf[body + 8:body + 8 + slen]))
                continue
            else:
                continue  # section header, statistics, name resolution, custom blocks...
            self.records_read += 1
            yield (frame, ts, lt, data, wirelen)
            frame += 1


def _idb_time(buf: bytes, opt: int, end: int, endian: str) -> tuple[float, float]:
    """Timestamp unit and offset from an IDB's options (if_tsresol, if_tsoffset)."""
    unit, offset = 1e-6, 0.0
    while opt + 4 <= end:
        code, length = struct.unpack_from(endian + "HH", buf, opt)
        value = buf[opt + 4:opt + 4 + length]
        if code == 0:
            break
        if code == 9 and length >= 1:
            v = value[0]
            unit = 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
        elif code == 14 and length >= 8:
            offset = float(struct.unpack_from(endian + "q", value)[0])
        opt += 4 + ((length + 3) & ~3)
    return unit, offset


class _Prefixed:
    """A read-only file object that yields *head* before the rest of *f* (after sniffing the magic)."""

    def __init__(self, head: bytes, f: BinaryIO):
        self.head = head
        self.f = f

    def read(self, n: int = -1) -> bytes:
        if self.head:
            if n is None or n < 0:
                data, self.head = self.head + self.f.read(), b""
                return data
            data, self.head = self.head[:n], self.head[n:]
            if len(data) < n:
                data += self.f.read(n - len(data))
            return data
        return self.f.read(n)

    def tell(self) -> int:
        return self.f.tell() - len(self.head)
