from collections.abc import Hashable
from typing import TypeVar

G = TypeVar("G", bound=Hashable)

def read_key_exchange_offer(
    groups_data: bytes, shares_data: bytes, ours: tuple[G, ...]
) -> tuple[list[G], dict[G, bytes], int]: ...
def sift_client_hello(
    body: bytes, known_suites: bytes, known_types: bytes
) -> tuple[bytes, bytes, bytes]: ...
def listed_code_points(
    data: bytes, minimum: int, maximum: int, ours: tuple[G, ...]
) -> list[G] | None: ...
def read_offered_psks(
    data: bytes, keep: int
) -> tuple[list[tuple[bytes, int]], list[bytes], int]: ...
