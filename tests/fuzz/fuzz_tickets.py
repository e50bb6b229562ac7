#!/usr/bin/env python3
"""Fuzz server-side ticket opening (``crypto/tickets.py``) and what the server does with
the state inside.

Input: one mode byte, then bytes:

0. the bytes are a ticket: ``TicketKeys.open`` (fixed key) must return None or a state;
1. the bytes are a ticket's *plaintext*: the harness seals them under the fixed key (what the
   fuzzer cannot do), so ``TicketState.parse`` sees them; a state that parses is then offered
   by a real client (a session carrying that ticket, its PSK and suite) to a real server, and
   the resumption handshake is pumped to its end.

Corpus (``make_corpus.py``): tickets a real server issued under the fixed key, and states.
Oracle: ``open`` returns None or a TicketState; the handshake ends complete or in
ProtocolError/PeerAlert; anything else propagates.

    python tests/fuzz/fuzz_tickets.py [libFuzzer flags] [corpus dirs]
"""

from __future__ import annotations

import functools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _fuzzutil

with _fuzzutil.instrumented(__name__):
    import cytls
    from cytls.crypto.keyschedule import SUITES
    from cytls.crypto.tickets import TicketState


@functools.cache
def keys() -> object:
    return _fuzzutil.fixed_ticket_keys()


def resume(state: TicketState, ticket: bytes) -> None:
    """A real client offers ``ticket`` with ``state``'s PSK; pump until quiet."""
    context = _fuzzutil.client_context(0)
    suite = state.suite if state.suite in SUITES else 0x1301
    # The client refuses an empty PSK (ValueError, its documented misuse): offer another one,
    # so that the server still meets the ticket.
    session = _fuzzutil.fixed_session(context, suite=suite, psk=state.psk or b"\x00")
    session.ticket = ticket
    client = cytls.Connection(
        context,
        server_hostname="localhost",
        environment=_fuzzutil.deterministic_environment(b"client"),
        session=session,
        early_data=b"early" if state.max_early_data_size else b"",
    )
    server = _fuzzutil.server_connection(3 if state.peer_certificate else 0)
    try:
        for _ in range(6):
            data = client.data_to_send()
            if data:
                server.receive_data(data)
            data = server.data_to_send()
            if not data:
                break
            client.receive_data(data)
    except (cytls.ProtocolError, cytls.PeerAlert):
        return


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    if data[0] % 2 == 0:
        state = keys().open(data[1:])  # type: ignore[attr-defined]
        assert state is None or isinstance(state, TicketState)
        return
    ticket = _fuzzutil.seal_ticket(data[1:])
    state = keys().open(ticket)  # type: ignore[attr-defined]
    assert state is None or isinstance(state, TicketState)
    if state is not None:
        resume(state, ticket)


if __name__ == "__main__":
    _fuzzutil.main(TestOneInput)
