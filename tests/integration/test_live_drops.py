"""live: packets the kernel dropped (PACKET_STATISTICS) are in the summary and a ``capture.dropped`` finding."""
from __future__ import annotations

import json
import socket

import pytest

from wsdissect.capture.afpacket import LiveCapture
from wsdissect.filters import EventFilter

SAMPLE = "sample_pcaps/aiohttp_mixed.pcap"


class _DroppingCapture:
    """Stands in for the AF_PACKET socket: the records of a file, and a kernel that dropped 7 then 5 packets."""

    linktype, snaplen = 1, 262144

    def __init__(self, *args, **kwargs):
        from wsdissect.capture.files import CaptureFile

        with CaptureFile(SAMPLE) as cf:
            self.records = list(cf)
        self.frame = len(self.records)
        self.drops = [7, 12]

    def read(self, timeout):
        records, self.records = self.records, []
        return records

    def stats(self):
        return self.frame, self.drops.pop(0) if len(self.drops) > 1 else self.drops[0]

    def close(self):
        pass


def test_kernel_drops_are_a_finding_and_in_the_summary(tmp_path):
    import wsdissect.live as live

    out = tmp_path / "live.jsonl"
    session = live.LiveSession(_DroppingCapture(), live.Options(), EventFilter(), None, "list", quiet=True)
    session.open_outputs(None, str(out))
    summary = session.run(count=None, duration=1.3)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    drops = [r for r in records if r["type"] == "expert" and r["code"] == "capture.dropped"]
    assert [d["message"].split(" (")[0] for d in drops] == ["the kernel dropped 7 packets",
                                                              "the kernel dropped 5 packets"]
    assert "12 dropped by the kernel" in summary
    assert sum(r["type"] == "message" for r in records) == 25


@pytest.mark.skipif(not hasattr(socket, "AF_PACKET"), reason="Linux only")
def test_packet_statistics_are_read_from_the_socket():
    """The real socket's counters: getsockopt(PACKET_STATISTICS) counts what the socket received (needs
    CAP_NET_RAW)."""
    try:
        cap = LiveCapture("lo")
    except Exception as e:  # no privilege here
        pytest.skip(str(e))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for _ in range(3):
                udp.sendto(b"x", ("127.0.0.1", 9))
        received, dropped = cap.stats()
        assert received >= 3 and dropped >= 0
    finally:
        cap.close()
