"""Capture filters (``live -f``): a libpcap filter expression compiled to classic BPF for the AF_PACKET socket.

Three compilers, tried in order, all libpcap's own code generator: the libpcap vendored in the ``pcapy-ng`` wheel
(a dependency on Linux, so ``pip install`` alone is enough), the system libpcap through scapy, and ``tcpdump
-ddd``.  When none is there the error names the install commands.  :func:`compile_filter` returns the program as
``(code, jt, jf, k)`` instructions; :func:`attach` puts it on a socket.
"""
from __future__ import annotations

import ctypes
import shutil
import socket
import struct
import subprocess
from typing import Callable, NamedTuple

from ..errors import CaptureError
from .layers import LINKTYPE_ETHERNET, LINKTYPE_RAW

SO_ATTACH_FILTER = 26
DLT_RAW = 12  # libpcap's value for LINKTYPE_RAW on Linux
TCPDUMP_DLT = {LINKTYPE_ETHERNET: "EN10MB", LINKTYPE_RAW: "RAW"}
INSTALL_HINT = ("install one: pip install pcapy-ng (or pip install --force-reinstall wsdissect), "
                "apt-get install libpcap0.8, or apt-get install tcpdump")


class Instruction(NamedTuple):
    code: int
    jt: int
    jf: int
    k: int


class Unavailable(Exception):
    """This compiler is not installed (the next one is tried)."""


def _with_pcapy(expr: str, linktype: int, snaplen: int) -> list[Instruction]:
    try:
        import pcapy  # type: ignore[import-not-found]
    except ImportError as e:
        raise Unavailable(str(e)) from None
    dlt = DLT_RAW if linktype == LINKTYPE_RAW else linktype
    try:
        program = pcapy.compile(dlt, snaplen, expr, 1, 0xFFFFFFFF)
    except pcapy.PcapError as e:
        raise CaptureError(f"bad capture filter {expr!r}: {e}") from None
    return [Instruction(*i) for i in program.get_bpf()]


def _with_system_libpcap(expr: str, linktype: int, snaplen: int) -> list[Instruction]:
    from ctypes import byref, create_string_buffer

    try:
        from scapy.arch.common import bpf_program
        from scapy.libs.winpcapy import pcap_close, pcap_compile, pcap_geterr, pcap_open_dead
    except (ImportError, OSError) as e:
        raise Unavailable(str(e)) from None
    prog = bpf_program()
    handle = pcap_open_dead(DLT_RAW if linktype == LINKTYPE_RAW else linktype, snaplen)
    try:
        if pcap_compile(handle, byref(prog), create_string_buffer(expr.encode()), 1, 0xFFFFFFFF) == -1:
            msg = pcap_geterr(handle)
            msg = msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)
            raise CaptureError(f"bad capture filter {expr!r}: {msg}")
        return [Instruction(i.code, i.jt, i.jf, i.k) for i in prog.bf_insns[:prog.bf_len]]
    finally:
        pcap_close(handle)


def _with_tcpdump(expr: str, linktype: int, snaplen: int) -> list[Instruction]:
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None or linktype not in TCPDUMP_DLT:
        raise Unavailable("tcpdump not found")
    try:
        p = subprocess.run([tcpdump, "-y", TCPDUMP_DLT[linktype], "-s", str(snaplen), "-ddd", "--", expr],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        raise Unavailable(str(e)) from None
    if p.returncode != 0:
        msg = (p.stderr.strip().splitlines() or ["tcpdump failed"])[-1].removeprefix("tcpdump: ")
        raise CaptureError(f"bad capture filter {expr!r}: {msg}")
    lines = p.stdout.split("\n")
    return [Instruction(*map(int, line.split())) for line in lines[1:1 + int(lines[0])]]


COMPILERS: tuple[tuple[str, Callable[[str, int, int], list[Instruction]]], ...] = (
    ("pcapy-ng", _with_pcapy), ("libpcap", _with_system_libpcap), ("tcpdump", _with_tcpdump))


def compile_filter(expr: str, linktype: int, snaplen: int) -> list[Instruction]:
    """*expr* compiled for *linktype* and *snaplen* by the first compiler that is installed."""
    missing = []
    for name, compiler in COMPILERS:
        try:
            return compiler(expr, linktype, snaplen)
        except Unavailable as e:
            missing.append(f"{name}: {e}")
    raise CaptureError(f"cannot compile capture filters: no BPF compiler ({'; '.join(missing)}); {INSTALL_HINT}")


def attach(sock: socket.socket, program: list[Instruction]) -> None:
    """Attach a classic BPF program to *sock* (SO_ATTACH_FILTER)."""
    raw = b"".join(struct.pack("@HBBI", *i) for i in program)
    buf = ctypes.create_string_buffer(raw, len(raw))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("@HP", len(program), ctypes.addressof(buf)))
