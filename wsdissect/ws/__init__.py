"""RFC 6455 frames and messages, and permessage-deflate (RFC 7692)."""
