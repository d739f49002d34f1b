"""The one set of test-data builders (WebSocket frames, handshakes, TCP conversations, pcap files, byte splits),
shared by tests/, fuzz/, tools/ and benchmarks/.  Import from the repository root: ``from tests.support import
ws_frame`` (tools and campaigns run as ``python -m tools.x`` / ``python -m fuzz.run_fuzz`` from there)."""
from .builders import (Conversation, FastConversation, accept_key, drop_frames, feedings, run_pipeline, splits,
                       tcp_packet, upgrade_request, upgrade_response, ws_frame)

__all__ = ["Conversation", "FastConversation", "accept_key", "drop_frames", "feedings", "run_pipeline", "splits",
           "tcp_packet", "upgrade_request", "upgrade_response", "ws_frame"]
