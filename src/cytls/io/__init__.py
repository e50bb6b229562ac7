"""I/O adapters over the sans-I/O Connection: ssl-compatible objects, sockets and asyncio."""
