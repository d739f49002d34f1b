"""Capture filters: every BPF compiler wsdissect can use gives libpcap's program; a bad expression is one clear
error; with none installed the error names the install commands; a compiled program filters a real socket."""
from __future__ import annotations

import os
import shutil
import socket

import pytest

from wsdissect.capture import bpf
from wsdissect.capture.layers import LINKTYPE_ETHERNET, LINKTYPE_RAW
from wsdissect.errors import CaptureError

EXPRESSIONS = ["tcp port 80", "host 127.0.0.1 and (tcp or udp)", "tcp[tcpflags] & tcp-syn != 0", "ip6 and tcp dst port 443"]


def _available() -> list:
    found = []
    for name, compiler in bpf.COMPILERS:
        try:
            compiler("tcp", LINKTYPE_ETHERNET, 262144)
        except bpf.Unavailable:
            continue
        found.append((name, compiler))
    return found


COMPILERS = _available()


def test_at_least_one_compiler_after_install():
    """pcapy-ng is a dependency on Linux: the first compiler is always there."""
    assert COMPILERS and COMPILERS[0][0] == "pcapy-ng"


@pytest.mark.parametrize("linktype", [LINKTYPE_ETHERNET, LINKTYPE_RAW])
@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_every_compiler_gives_the_same_program(expr, linktype):
    programs = {name: compiler(expr, linktype, 262144) for name, compiler in COMPILERS}
    first = next(iter(programs.values()))
    assert len(first) > 3 and first[-1].code == 0x06  # ends with "ret"
    assert all(p == first for p in programs.values()), programs


@pytest.mark.parametrize("name,compiler", COMPILERS, ids=[n for n, _ in COMPILERS])
def test_a_bad_expression_is_one_clear_error(name, compiler):
    with pytest.raises(CaptureError, match="bad capture filter 'tcp port'"):
        compiler("tcp port", LINKTYPE_ETHERNET, 262144)


def test_falls_back_in_order_and_names_the_install_commands(monkeypatch):
    calls = []

    def missing(name):
        def compiler(expr, linktype, snaplen):
            calls.append(name)
            raise bpf.Unavailable(f"{name} is not installed")
        return compiler

    monkeypatch.setattr(bpf, "COMPILERS", tuple((n, missing(n)) for n, _ in bpf.COMPILERS))
    with pytest.raises(CaptureError) as e:
        bpf.compile_filter("tcp port 80", LINKTYPE_ETHERNET, 262144)
    assert calls == ["pcapy-ng", "libpcap", "tcpdump"]
    message = str(e.value)
    assert "pip install pcapy-ng" in message and "apt-get install libpcap0.8" in message


def test_tcpdump_is_used_when_the_libraries_are_missing(monkeypatch):
    if not shutil.which("tcpdump"):
        pytest.skip("tcpdump not installed")

    def gone(expr, linktype, snaplen):
        raise bpf.Unavailable("not installed")

    monkeypatch.setattr(bpf, "COMPILERS", (("pcapy-ng", gone), ("libpcap", gone), ("tcpdump", bpf._with_tcpdump)))
    assert bpf.compile_filter("udp port 53", LINKTYPE_ETHERNET, 262144) == \
        bpf._with_tcpdump("udp port 53", LINKTYPE_ETHERNET, 262144)


@pytest.mark.skipif(not hasattr(socket, "AF_PACKET") or os.geteuid() != 0, reason="needs Linux and root")
@pytest.mark.parametrize("name,compiler", COMPILERS, ids=[n for n, _ in COMPILERS])
def test_a_compiled_program_filters_a_real_socket(name, compiler):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        wanted = a.getsockname()[1]
        raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        try:
            bpf.attach(raw, compiler(f"udp dst port {wanted}", LINKTYPE_ETHERNET, 262144))
            raw.bind(("lo", 3))
            raw.settimeout(0.5)
            b.sendto(b"other", ("127.0.0.1", b.getsockname()[1]))
            b.sendto(b"wanted", ("127.0.0.1", wanted))
            seen = []
            try:
                while True:
                    seen.append(raw.recv(65536))
            except socket.timeout:
                pass
        finally:
            raw.close()
    assert seen and all(p.endswith(b"wanted") for p in seen), seen
