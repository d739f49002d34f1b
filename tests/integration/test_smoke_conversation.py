"""End to end on a crafted conversation: handshake, masked text, unmasked reply, close."""
from tests.support import Conversation, run_pipeline, upgrade_request, upgrade_response, ws_frame


def test_crafted_conversation(tmp_path):
    conv = Conversation()
    req = upgrade_request()
    conv.send(True, req)
    conv.send(False, upgrade_response(req))
    conv.send(True, ws_frame(1, b"hello", mask=b"\x01\x02\x03\x04"))
    conv.send(False, ws_frame(1, b"world"))
    conv.send(True, ws_frame(8, b"\x03\xe8bye", mask=b"abcd"))
    conv.send(False, ws_frame(8, b"\x03\xe8"))
    conv.close()
    ev = run_pipeline(conv.write(str(tmp_path / "c.pcap")))
    msgs = [(m.direction, m.opcode, m.payload) for m in ev["Message"]]
    assert msgs == [("client_to_server", 1, b"hello"), ("server_to_client", 1, b"world"),
                    ("client_to_server", 8, b"\x03\xe8bye"), ("server_to_client", 8, b"\x03\xe8")]
    assert ev["Message"][2].close_code == 1000 and ev["Message"][2].close_reason == "bye"
    (end,) = ev["ConnectionEnd"]
    assert end.websocket and end.ended_by == "close+fin" and end.first_close == "client_to_server"
    assert [f.code for f in ev.get("Finding", []) if f.severity >= 3] == []
