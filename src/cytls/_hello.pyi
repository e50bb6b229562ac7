from collections.abc import Hashable, Iterable
from typing import TypeVar

_G = TypeVar("_G", bound=Hashable)

def read_key_exchange_offer(
    groups_data: bytes, shares_data: bytes, ours: tuple[_G, ...]
) -> tuple[list[_G], dict[_G, bytes], int]: ...
def sift_client_hello(
    body: bytes, known_suites: bytes, known_types: bytes
) -> tuple[bytes, bytes, bytes]: ...
def listed_code_points(
    data: bytes, minimum: int, maximum: int, ours: tuple[_G, ...]
) -> list[_G] | None: ...
def read_offered_psks(
    data: bytes, keep: int
) -> tuple[list[tuple[bytes, int]], list[bytes], int]: ...
def code_point_bitmap(values: Iterable[int]) -> bytes: ...
