"""The one size limit of the application decoders (reported as ``app.buffer_limit``)."""

# Largest application packet/frame buffered while waiting for its last byte (stream protocols: MQTT).
MAX_PACKET = 16 * 1024 * 1024
