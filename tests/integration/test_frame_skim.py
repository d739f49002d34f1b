"""``show -V --frame N`` skims the packets before N (no Packet or WsFrame events, the C lane runs) and must still
draw frame N's tree exactly as the full ``show -V`` draws it: TCP analysis, HTTP pairing, fragments of a message
begun earlier, time deltas."""
from __future__ import annotations

import glob
from pathlib import Path

import pytest
from click.testing import CliRunner

from wsdissect.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(glob.glob(str(ROOT / "sample_pcaps" / "*.pcap")))
CORPUS = [str(ROOT.parent / "shared" / "corpus" / name / "capture.pcap") for name in (
    "node_ws_deflate_fragmented", "variant_dropped_segment", "variant_reordered_segments",
    "variant_overlapping_retransmission", "variant_midstream_start", "refused_upgrade_and_plain_http",
    "websockets_5mb_binary", "websockets_30_concurrent")]
CORPUS = [p for p in CORPUS if Path(p).exists()]


def _show(*args: str) -> str:
    result = CliRunner().invoke(main, ["show", "-V", "--color", "never", "-q", *args])
    assert result.exit_code in (0, 3), result.output
    return result.output


def _blocks(text: str) -> dict[int, str]:
    """Each frame's tree of a ``show -V`` output, by frame number (trees are separated by an empty line)."""
    out = {}
    for block in text.rstrip("\n").split("\n\n"):
        number = int(block.split(":", 1)[0].split()[1])
        out[number] = block
    return out


def _frames_to_check(count: int, most: int = 60) -> list[int]:
    step = max(1, count // most)
    return sorted(set(range(1, count + 1, step)) | {count})


@pytest.mark.parametrize("path", SAMPLES + CORPUS, ids=lambda p: Path(p).parent.name + "/" + Path(p).name)
def test_each_frame_as_in_the_full_trees(path):
    full = _blocks(_show(path))
    for n in _frames_to_check(max(full)):
        assert _show("--frame", str(n), path) == full[n] + "\n", f"frame {n}"


@pytest.mark.parametrize("path", [p for p in CORPUS if "30_concurrent" in p or "fragmented" in p])
def test_several_frames(path):
    full = _blocks(_show(path))
    last = max(full)
    wanted = [last // 3, last // 2, last]
    got = _show(*[a for n in wanted for a in ("--frame", str(n))], path)
    assert got == "\n\n".join(full[n] for n in wanted) + "\n"


@pytest.mark.parametrize("path", [p for p in CORPUS if "30_concurrent" in p or "fragmented" in p])
def test_display_filter_with_frame(path):
    full = _blocks(_show("-Y", "websocket", path))
    for n in list(full)[-3:]:
        assert _show("-Y", "websocket", "--frame", str(n), path) == full[n] + "\n"


def _crafted(path: str, lose: bool) -> str:
    """A WebSocket connection whose messages are fragmented over several packets, frames cut across segments (the
    lane holds them back), and, when *lose*, a lost segment (skimming cannot carry that over: decoded again)."""
    from tests.support.builders import Conversation, upgrade_request, upgrade_response, ws_frame

    conv = Conversation(mss=24)
    req = upgrade_request(key="dGhlIHNhbXBsZSBub25jZQ==")
    conv.send(True, req)
    conv.send(False, upgrade_response(req))
    mask = b"\x01\x02\x03\x04"
    conv.send(True, ws_frame(1, b'{"a": 1, "part": "one"}', fin=False, mask=mask))
    conv.send(False, ws_frame(1, b"a server text long enough to be cut in three"))
    conv.send(True, ws_frame(0, b"two two two", fin=False, mask=mask))
    cut = conv.send(False, ws_frame(2, bytes(range(60))))
    conv.send(True, ws_frame(0, b"three", mask=mask))
    for i in range(12):  # (the reassembler's patience with the lost segment runs out)
        conv.send(False, ws_frame(1, b"after %d" % i))
    conv.send(True, ws_frame(1, b"the last one", fin=False, mask=mask))
    conv.send(True, ws_frame(9, b"ping", mask=mask))
    conv.close()
    if lose:
        conv.packets.remove(cut[1])
    return conv.write(path)


@pytest.mark.parametrize("lose", [False, True], ids=["whole", "lost segment"])
def test_crafted_fragments_and_gaps(tmp_path, lose):
    from wsdissect.capture.files import CaptureFile
    from wsdissect.options import Options
    from wsdissect.run.driver import Feed

    path = _crafted(str(tmp_path / "c.pcap"), lose)
    full = _blocks(_show(path))
    fell_back = []
    for n in full:
        assert _show("--frame", str(n), path) == full[n] + "\n", f"frame {n}"
        feed = Feed(Options(packets=True, frames=True), None)
        with CaptureFile(path) as cf:
            for _ in feed.skimmed(cf, n):
                pass
        fell_back.append(not feed.resumed)
    assert any(fell_back) == lose  # the lost segment's connection is decoded again from the start
