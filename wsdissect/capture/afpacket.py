"""Live capture on Linux: a raw AF_PACKET socket with a BPF filter (compiled by capture/bpf.py).

Records have the same shape as file records: ``(frame_no, ts, linktype, data, wire_len)``.  On one interface the
link layer is the interface's (Ethernet for ``lo`` and Ethernet NICs, raw IP for tun devices); on ``any`` every
packet is turned into a Linux cooked (SLL) record, as libpcap does.  Loopback packets are seen twice by a packet
socket (outgoing and incoming); the outgoing copy is dropped, as tcpdump does.
"""
from __future__ import annotations

import errno
import select
import socket
import struct
import time

from ..errors import CaptureError
from .bpf import attach, compile_filter
from .layers import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_RAW

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
PACKET_IGNORE_OUTGOING = 23
SO_TIMESTAMPNS = 35
ARPHRD_ETHER, ARPHRD_LOOPBACK, ARPHRD_NONE = 1, 772, 65534
_TIMESPEC = struct.Struct("@qq")


class PermissionHint(CaptureError):
    pass


def list_interfaces() -> list[tuple[int, str]]:
    """``(index, name)`` of the machine's interfaces, plus ``any``."""
    return sorted(socket.if_nameindex()) + [(0, "any")]


class LiveCapture:
    def __init__(self, iface: str, bpf: str | None = None, snaplen: int = 262144, promisc: bool = True,
                 buffer_size: int = 32 << 20):
        self.iface = iface
        self.snaplen = snaplen
        self.any = iface == "any"
        self.frame = 0
        self.received = 0
        self.dropped = 0
        if not hasattr(socket, "AF_PACKET"):
            raise CaptureError("live capture needs Linux (AF_PACKET sockets)")
        if not self.any:
            try:
                self.ifindex = socket.if_nametoindex(iface)
            except OSError:
                names = ", ".join(n for _, n in list_interfaces())
                raise CaptureError(f"no such interface: {iface!r} (interfaces: {names})") from None
        try:
            # on "any" the kernel strips each interface's link header (SOCK_DGRAM) and a cooked header is built
            kind = socket.SOCK_DGRAM if self.any else socket.SOCK_RAW
            self.sock = socket.socket(socket.AF_PACKET, kind, socket.htons(ETH_P_ALL))
        except PermissionError:
            raise PermissionHint(f"capturing on {iface!r} needs root or the CAP_NET_RAW capability (run with sudo, "
                                 "or: sudo setcap cap_net_raw,cap_net_admin+eip \"$(readlink -f \"$(which "
                                 "python3)\")\")") from None
        try:
            for opt in (getattr(socket, "SO_RCVBUFFORCE", 33), socket.SO_RCVBUF):
                try:
                    self.sock.setsockopt(socket.SOL_SOCKET, opt, buffer_size)
                    break
                except OSError:
                    continue
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            if bpf:
                self._attach_filter(bpf)
            if not self.any:  # an unbound packet socket reads every interface
                self.sock.bind((iface, ETH_P_ALL))
            if not self.any and self._iface_hatype() == ARPHRD_LOOPBACK:
                try:  # Linux 4.20+: the kernel skips the outgoing copy of loopback packets (half the work)
                    self.sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
                except OSError:
                    pass  # older kernels: the copy is dropped in read()
            if promisc and not self.any:
                mreq = struct.pack("IHH8s", self.ifindex, PACKET_MR_PROMISC, 0, b"")
                try:
                    self.sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
                except OSError:
                    pass
            self.sock.setblocking(False)
        except OSError as e:
            self.sock.close()
            raise CaptureError(f"cannot capture on {iface!r}: {e.strerror or e}") from None
        except BaseException:
            self.sock.close()
            raise
        self.linktype = LINKTYPE_LINUX_SLL if self.any else self._iface_linktype()

    def _attach_filter(self, bpf: str) -> None:
        """Compile *bpf* for this capture's link type and snapshot length (capture/bpf.py), attach it to the
        socket.  (scapy's own helper compiles for a 65,535-byte snapshot, which cuts full-size loopback segments.)"""
        # the kernel runs the filter on what the socket reads: network-layer packets on "any"
        linktype = LINKTYPE_RAW if self.any else self._iface_linktype()
        attach(self.sock, compile_filter(bpf, linktype, self.snaplen))

    def _iface_hatype(self) -> int:
        try:
            with open(f"/sys/class/net/{self.iface}/type") as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return ARPHRD_ETHER

    def _iface_linktype(self) -> int:
        return LINKTYPE_RAW if self._iface_hatype() == ARPHRD_NONE else LINKTYPE_ETHERNET

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self, timeout: float, max_records: int = 4096) -> list[tuple]:
        """Records available within *timeout* seconds (possibly none)."""
        out: list[tuple] = []
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return out
        recvmsg = self.sock.recvmsg
        snap = self.snaplen
        while len(out) < max_records:
            try:
                data, anc, flags, addr = recvmsg(snap, 64)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EINTR):
                    break
                raise CaptureError(f"capture on {self.iface!r} failed: {e.strerror}") from None
            wire_len = len(data)  # a packet longer than the snapshot length is counted as captured
            pkttype, hatype = addr[2], addr[3]
            if hatype == ARPHRD_LOOPBACK and pkttype == PACKET_OUTGOING:
                continue
            ts = time.time()
            for level, typ, val in anc:
                if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(val) >= 16:
                    sec, nsec = _TIMESPEC.unpack_from(val)
                    ts = sec + nsec * 1e-9
            if self.any:
                data, linktype = self._cooked(data, addr), LINKTYPE_LINUX_SLL
                wire_len += 16
            else:
                linktype = self.linktype
            self.frame += 1
            out.append((self.frame, ts, linktype, data, wire_len))
        return out

    @staticmethod
    def _cooked(data: bytes, addr: tuple) -> bytes:
        """A Linux cooked (SLL) header before a network-layer packet read on "any", as libpcap writes it."""
        _name, proto, pkttype, hatype, hwaddr = addr[:5]
        hw = (hwaddr or b"")[:8]
        return struct.pack("!HHH8sH", pkttype, hatype, len(hw), hw.ljust(8, b"\0"), proto) + data

    def stats(self) -> tuple[int, int]:
        """(packets received by the socket, dropped by the kernel) so far."""
        try:
            received, dropped = struct.unpack("II", self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
            self.received += received  # the kernel resets the counters on every read
            self.dropped += dropped
        except OSError:
            pass
        return self.received, self.dropped

    def close(self) -> None:
        self.sock.close()
