"""The one size limit of the application decoders (reported as ``app.buffer_limit``)."""

# Largest application packet/frame buffered while waiting for its last byte (stream protocols: MQTT).
MAX_PACKET = 16 * 1024 * 1024

# Data messages of a connection without subprotocol or Engine.IO URI tested by content before giving up (the test
# is cheap, but export speed matters on connections that carry no known application protocol).
SNIFF_MESSAGES = 32
