"""The TLS wire format: stateless codecs, message types and registry values."""
