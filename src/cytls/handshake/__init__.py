"""The TLS handshake: state machines, key schedule, transcript, key exchange and certificates."""
