"""Connection identity: endpoints, directions, the TCP flag bits, and the shared, immutable ``Conn`` every event
names."""
from __future__ import annotations

from dataclasses import dataclass, field

CLIENT_TO_SERVER = "client_to_server"
SERVER_TO_CLIENT = "server_to_client"
DIRECTIONS = (CLIENT_TO_SERVER, SERVER_TO_CLIENT)

# TCP header flag bits (RFC 9293 section 3.1; ECE/CWR RFC 3168)
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR = 1, 2, 4, 8, 16, 32, 64, 128
TCP_FLAG_NAMES = ((TCP_FIN, "FIN"), (TCP_SYN, "SYN"), (TCP_RST, "RST"), (TCP_PSH, "PSH"), (TCP_ACK, "ACK"),
                  (TCP_URG, "URG"), (TCP_ECE, "ECE"), (TCP_CWR, "CWR"))


def endpoint(ip: str, port: int) -> str:
    """``127.0.0.1:8765`` or ``[::1]:8765`` (the export contract's spelling)."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


@dataclass(frozen=True, slots=True)
class Conn:
    """One TCP connection, oriented client -> server.  ``index`` counts connections like tcp.stream."""

    index: int
    client_ip: str
    client_port: int
    server_ip: str
    server_port: int
    client: str = field(init=False, compare=False, repr=False)  # "ip:port", computed once
    server: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "client", endpoint(self.client_ip, self.client_port))
        object.__setattr__(self, "server", endpoint(self.server_ip, self.server_port))

    def swapped(self) -> "Conn":
        """The same connection with client and server exchanged (when the first guess was wrong)."""
        return Conn(self.index, self.server_ip, self.server_port, self.client_ip, self.client_port)
