"""Interop tests: cytls against real TLS peers (openssl, gnutls, the ssl module, curl)."""
