"""The ticket key file (``TLSContext.load_ticket_keys``) and key rotation, in one process:
what the file may hold, what it must not, and which keys seal and open tickets afterwards.

The same file shared by several server processes is tested in
``tests/interop/test_interop_resumption.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from handshakeutil import client_context, handshake, pump, server_context

import cytls
from cytls.crypto.tickets import MAX_SEALS_PER_KEY


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="ascii")
    return path


def new_session(client_ctx: cytls.TLSContext, server_ctx: cytls.TLSContext) -> cytls.Session:
    client, _ = handshake(client_ctx, server_ctx)
    assert client.session is not None
    return client.session


def resumes(
    client_ctx: cytls.TLSContext, server_ctx: cytls.TLSContext, session: cytls.Session
) -> bool:
    """Whether ``server_ctx`` resumes ``session`` (a full handshake otherwise, never an error)."""
    client = cytls.Connection(client_ctx, server_hostname="localhost", session=session)
    server = cytls.Connection(server_ctx, server_side=True)
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    assert client.session_reused is server.session_reused
    return server.session_reused


def loaded(path: Path) -> cytls.TLSContext:
    context = server_context()
    context.load_ticket_keys(path)
    return context


# --- the format ----------------------------------------------------------------------------------


def test_comments_blank_lines_and_spaces_are_ignored(tmp_path: Path) -> None:
    """Both files hold the same key (upper or lower case hex, with surrounding blanks and
    comments): a context that loaded one resumes the tickets of a context that loaded the
    other."""
    key = os.urandom(32)
    plain = write(tmp_path / "plain", key.hex() + "\n")
    decorated = write(
        tmp_path / "decorated",
        f"# ticket keys, rotated daily\n\n   {key.hex().upper()}  \n# end\n",
    )
    client_ctx = client_context()
    session = new_session(client_ctx, loaded(plain))
    assert resumes(client_ctx, loaded(decorated), session)


def test_no_trailing_newline(tmp_path: Path) -> None:
    key = os.urandom(32)
    client_ctx = client_context()
    session = new_session(client_ctx, loaded(write(tmp_path / "a", key.hex())))
    assert resumes(client_ctx, loaded(write(tmp_path / "b", key.hex() + "\n")), session)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no ticket key"),
        ("# only a comment\n\n", "holds no ticket key"),
        ("00" * 31 + "\n", "line 1: a ticket key is 64 hexadecimal digits"),
        ("00" * 33 + "\n", "line 1: a ticket key is 64 hexadecimal digits"),
        ("# first\n" + "0" * 63 + "\n", "line 2: a ticket key is 64 hexadecimal digits"),
        ("zz" * 32 + "\n", "line 1: a ticket key is 64 hexadecimal digits"),
        ("00" * 32 + " # trailing comment\n", "line 1: a ticket key is 64 hexadecimal digits"),
        ("".join(os.urandom(32).hex() + "\n" for _ in range(17)), "at most 16 ticket keys"),
    ],
    ids=[
        "empty",
        "comments_only",
        "short_key",
        "long_key",
        "odd_digits_line_2",
        "not_hex",
        "trailing_comment",
        "seventeen_keys",
    ],
)
def test_bad_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    """A bad file is a ValueError naming the line; the keys in use stay as they were."""
    context = server_context()
    client_ctx = client_context()
    session = new_session(client_ctx, context)
    with pytest.raises(ValueError, match=message):
        context.load_ticket_keys(write(tmp_path / "bad.keys", text))
    assert resumes(client_ctx, context, session)


def test_sixteen_keys_are_fine_and_any_of_them_opens(tmp_path: Path) -> None:
    keys = [os.urandom(32) for _ in range(16)]
    client_ctx = client_context()
    sealer = loaded(write(tmp_path / "last", keys[-1].hex() + "\n"))
    session = new_session(client_ctx, sealer)
    all_keys = write(tmp_path / "all", "".join(key.hex() + "\n" for key in keys))
    assert resumes(client_ctx, loaded(all_keys), session)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        server_context().load_ticket_keys(tmp_path / "nowhere")


def test_the_file_is_not_in_reprs(tmp_path: Path) -> None:
    key = os.urandom(32)
    context = loaded(write(tmp_path / "k", key.hex() + "\n"))
    for text in (repr(context), repr(context.ticket_keys), str(context.ticket_keys)):
        assert key.hex() not in text.lower()


# --- which keys seal, which open ---------------------------------------------------------------


def test_loading_a_file_replaces_the_random_keys(tmp_path: Path) -> None:
    """Tickets sealed under the context's own random key do not open after a key file is
    loaded (the file is the one source of truth)."""
    context = server_context()
    client_ctx = client_context()
    session = new_session(client_ctx, context)
    context.load_ticket_keys(write(tmp_path / "k", os.urandom(32).hex() + "\n"))
    assert not resumes(client_ctx, context, session)


def test_rotation_through_the_file(tmp_path: Path) -> None:
    """New key first, old key kept: old tickets open, new ones are sealed with the new key
    (a context holding only the new key resumes them); old key dropped: old tickets do not
    open any more."""
    old, new = os.urandom(32), os.urandom(32)
    path = tmp_path / "ticket.keys"
    context = loaded(write(path, old.hex() + "\n"))
    client_ctx = client_context()
    old_session = new_session(client_ctx, context)

    context.load_ticket_keys(write(path, f"{new.hex()}\n{old.hex()}\n"))
    assert resumes(client_ctx, context, old_session)
    fresh = new_session(client_ctx, context)
    only_new = loaded(write(tmp_path / "new-only", new.hex() + "\n"))
    only_old = loaded(write(tmp_path / "old-only", old.hex() + "\n"))
    assert resumes(client_ctx, only_new, fresh)
    assert not resumes(client_ctx, only_old, fresh)

    context.load_ticket_keys(write(path, new.hex() + "\n"))
    assert not resumes(client_ctx, context, old_session)
    assert resumes(client_ctx, context, fresh)


def test_rotate_ticket_keys_keeps_one_previous_key() -> None:
    """rotate_ticket_keys(): a fresh sealing key; the previous one still opens its tickets,
    the one before that no longer does."""
    context = server_context()
    client_ctx = client_context()
    first = new_session(client_ctx, context)
    context.rotate_ticket_keys()
    assert resumes(client_ctx, context, first)
    second = new_session(client_ctx, context)
    context.rotate_ticket_keys()
    assert resumes(client_ctx, context, second)
    assert not resumes(client_ctx, context, first)


def test_contexts_without_a_file_do_not_share_keys() -> None:
    client_ctx = client_context()
    session = new_session(client_ctx, server_context())
    assert not resumes(client_ctx, server_context(), session)


# --- how many tickets one key seals (issue 12) -----------------------------------------------
#
# Ticket nonces are random 96-bit values: a key seals at most MAX_SEALS_PER_KEY (2^32) tickets
# (NIST SP 800-38D §8.3). The counter is set near the limit here: sealing 2^32 tickets is not a
# test.


def test_a_random_key_that_sealed_its_limit_is_replaced() -> None:
    context = server_context()
    client_ctx = client_context()
    before = new_session(client_ctx, context)
    context.ticket_keys._sealed = MAX_SEALS_PER_KEY  # type: ignore[attr-defined]
    after = new_session(client_ctx, context)  # sealed under a new key
    assert after.id != before.id
    assert resumes(client_ctx, context, before)  # the spent key still opens its tickets
    assert resumes(client_ctx, context, after)
    assert context.ticket_keys._sealed <= context.num_tickets * 3  # type: ignore[attr-defined]


def test_a_key_from_a_file_that_sealed_its_limit_seals_no_more(tmp_path: Path) -> None:
    """A file's key cannot be replaced here: the server sends no ticket until new keys are
    loaded, rather than seal past the limit."""
    path = write(tmp_path / "ticket.keys", os.urandom(32).hex() + "\n")
    context = loaded(path)
    client_ctx = client_context()
    assert new_session(client_ctx, context) is not None  # the control: tickets come
    keys = context.ticket_keys
    keys._sealed = MAX_SEALS_PER_KEY - 1  # type: ignore[attr-defined]
    client, _ = handshake(client_ctx, context)
    assert len(client._sessions) == 1  # type: ignore[attr-defined]
    client, _ = handshake(client_ctx, context)
    assert client.session is None
    context.load_ticket_keys(write(path, os.urandom(32).hex() + "\n"))
    assert new_session(client_ctx, context) is not None
