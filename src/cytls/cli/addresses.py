"""Parsing the HOST:PORT arguments of the ``cytls`` command."""


def parse_host_port(text: str, *, allow_port_zero: bool = False) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT``; ValueError naming the text otherwise.

    Port 0 (any free port) only where ``allow_port_zero`` says so, e.g. a listening address.
    """
    host, sep, port = text.rpartition(":")
    lowest = 0 if allow_port_zero else 1
    if not sep or not host or not port.isdigit() or not lowest <= int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)
