"""``wsdissect tui`` on the command line: a real terminal session quits with 0; bad input is one line, exit 2."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from tests.golden._support import capture
from wsdissect.cli import main


def _cli(args: list[str]):
    return CliRunner().invoke(main, ["tui", *args])


def test_missing_textual_is_one_line_naming_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "textual", None)  # import textual -> ImportError
    res = _cli([capture("asr_28002")])
    assert res.exit_code == 2
    assert res.output == "wsdissect: error: the TUI needs Textual: pip install 'wsdissect[tui]'\n"


@pytest.mark.parametrize("args, message", [
    ([], "give a CAPTURE file or -i IFACE"),
    ([capture("asr_28002"), "-i", "lo"], "give a CAPTURE file or -i IFACE"),
    ([capture("asr_28002"), "-f", "tcp"], "-f BPF is a capture filter for -i IFACE"),
    (["-"], "stdin cannot be read again"),
    (["README.md"], "not a pcap or pcapng capture"),
    ([capture("asr_28002"), "--opcode", "nope"], "--opcode 'nope'"),
    ([capture("asr_28002"), "--max-message", "lots"], "bad size 'lots'"),
    ([capture("asr_28002"), "-Y", "websocket.opcode =="], "column 20"),
    (["-i", "no-such-if0"], "no such interface"),
])
def test_bad_input_is_one_line_exit_2(args: list[str], message: str) -> None:
    res = _cli(args)
    assert res.exit_code == 2 and message in res.output and res.output.count("\n") == 1, res.output


def test_a_terminal_session_quits_with_status_0() -> None:
    """The real thing in a pseudo-terminal: the screen comes up, `q` quits, the status is 0."""
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="120", LINES="40")
    proc = subprocess.Popen([sys.executable, "-m", "wsdissect", "tui", capture("aiohttp_mixed")], stdin=slave,
                            stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + 20
    try:
        while b"Switching Protocols" not in screen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                screen += os.read(master, 65536)
        assert b"Switching Protocols" in screen  # the packet list is on the screen
        os.write(master, b"q")
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    break
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
