"""Rich views: packet list, detail trees, follow, statistics, expert info.  Each gets a Console injected and
consumes events; none re-parses WebSocket bytes."""
