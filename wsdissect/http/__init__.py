"""HTTP/1.1 on a TCP connection: heads, bodies skipped, and the WebSocket upgrade."""
