"""The offline list of common and breached passwords, held as a Golomb-coded set.

Why this structure: the source list has ~4 million entries. A Python ``set`` of them
would take hundreds of MiB; a sorted array of 8-byte hashes ~32 MiB; a Bloom filter at
a 1e-4 false-positive rate ~9.7 MiB. A Golomb-coded set (GCS, as in BIP 158) stores the
sorted, range-reduced hashes as Rice-coded gaps: ~15 bits an entry for a false-positive
rate of 2**-13 (~1.2e-4), so the whole list fits in under 8 MiB and lookups stay exact
for every listed password. A false positive only means a user is asked to pick another
password.

Entries and queries are keyed by :func:`normalise_for_lookup` (NFKC, then case-folded),
so ``Password1234`` and ``PASSWORD1234`` are one entry. The file is loaded lazily, once
per process, by :func:`is_common_password`.

File format (all integers little-endian)::

    header  MAGIC, then struct HEADER: rice_bits, block_size, count, hash_range, blocks
    index   blocks x uint64: the first value of each block
    offsets (blocks + 1) x uint32: byte offset of each block within data
    data    per block: the Rice-coded gaps after the block's first value, byte-aligned
"""

from __future__ import annotations

import hashlib
import itertools
import struct
import sys
import unicodedata
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Final

MAGIC: Final = b"ODKGCS1\0"
HEADER: Final = struct.Struct("<BHQQI")
DEFAULT_RICE_BITS: Final = 13  # false-positive rate 2**-13, about 1.2e-4
DEFAULT_BLOCK_SIZE: Final = 256  # values decoded per lookup at most
DATA_PACKAGE: Final = "accounts.data"
DATA_FILE: Final = "common_passwords.bin"


def normalise_for_lookup(password: str) -> str:
    """The key under which a password is listed: NFKC, then case-folded."""
    return unicodedata.normalize("NFKC", password).casefold()


def _hash64(key: str) -> int:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big")


def _reduce(key: str, hash_range: int) -> int:
    # Lemire's multiply-shift maps the 64-bit hash uniformly onto [0, hash_range).
    return (_hash64(key) * hash_range) >> 64


def _uint_array(typecode: str, data: bytes | memoryview) -> array[int]:
    values = array(typecode)
    values.frombytes(data)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def encode(
    entries: Iterable[str],
    *,
    rice_bits: int = DEFAULT_RICE_BITS,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> bytes:
    """Build the GCS file for ``entries`` (normalised here; duplicates are merged)."""
    keys = {normalise_for_lookup(entry) for entry in entries}
    hash_range = max(len(keys), 1) << rice_bits
    values = sorted({_reduce(key, hash_range) for key in keys})
    firsts: list[int] = []
    offsets: list[int] = [0]
    data = bytearray()
    for start in range(0, len(values), block_size):
        block = values[start : start + block_size]
        firsts.append(block[0])
        bits: list[str] = []
        for previous, value in itertools.pairwise(block):
            gap = value - previous
            remainder = gap & ((1 << rice_bits) - 1)
            bits.append("1" * (gap >> rice_bits) + "0" + format(remainder, f"0{rice_bits}b"))
        bit_string = "".join(bits)
        bit_string += "1" * (-len(bit_string) % 8)  # padding never decodes as a gap
        data += int(bit_string or "0", 2).to_bytes(len(bit_string) // 8, "big")
        offsets.append(len(data))
    index = array("Q", firsts)
    offset_array = array("I", offsets)
    if sys.byteorder == "big":
        index.byteswap()
        offset_array.byteswap()
    header = HEADER.pack(rice_bits, block_size, len(values), hash_range, len(firsts))
    return MAGIC + header + index.tobytes() + offset_array.tobytes() + bytes(data)


class CommonPasswordSet:
    """Read-only membership test over an encoded GCS; safe to share between threads."""

    def __init__(self, blob: bytes) -> None:
        if not blob.startswith(MAGIC):
            raise ValueError("not a common-password set (bad magic)")
        view = memoryview(blob)
        position = len(MAGIC)
        rice_bits, block_size, count, hash_range, blocks = HEADER.unpack_from(blob, position)
        self._rice_bits: int = rice_bits
        self._block_size: int = block_size
        self._hash_range: int = hash_range
        self.count: int = count
        """Distinct hashed entries in the set."""
        position += HEADER.size
        self._firsts = _uint_array("Q", view[position : position + 8 * blocks])
        position += 8 * blocks
        self._offsets = _uint_array("I", view[position : position + 4 * (blocks + 1)])
        position += 4 * (blocks + 1)
        self._data = view[position:]
        if len(self._offsets) != blocks + 1 or self._offsets[-1] != len(self._data):
            raise ValueError("common-password set is truncated or corrupt")
        self.size_bytes = len(blob)
        """Bytes held in memory (the whole encoded file)."""

    def __contains__(self, password: object) -> bool:
        if not isinstance(password, str) or not self._firsts:
            return False
        target = _reduce(normalise_for_lookup(password), self._hash_range)
        block = bisect_right(self._firsts, target) - 1
        if block < 0:
            return False
        value = self._firsts[block]
        if value == target:
            return True
        raw = self._data[self._offsets[block] : self._offsets[block + 1]]
        bits = format(int.from_bytes(raw, "big"), f"0{len(raw) * 8}b") if raw else ""
        rice_bits, position = self._rice_bits, 0
        for _ in range(self._block_size - 1):
            zero = bits.find("0", position)
            if zero < 0:
                return False  # only padding (all ones) is left: end of block
            quotient = zero - position
            remainder = int(bits[zero + 1 : zero + 1 + rice_bits], 2)
            value += (quotient << rice_bits) | remainder
            position = zero + 1 + rice_bits
            if value >= target:
                return value == target
        return False


@cache
def load_common_passwords() -> CommonPasswordSet:
    """The shipped list, read once per process; raises if the data file is missing."""
    blob = resources.files(DATA_PACKAGE).joinpath(DATA_FILE).read_bytes()
    return CommonPasswordSet(blob)


def is_common_password(password: str) -> bool:
    """True if ``password`` (NFKC, case-folded) is on the list, or a ~1.2e-4 false hit."""
    return password in load_common_passwords()
