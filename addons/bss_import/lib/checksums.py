"""Content checksums that do not depend on the order, or the chunking, of the rows summed.

A phase is written chunk by chunk, by one worker or several, and resumed after a
crash from the chunks already committed: its checksum must come out the same
whichever chunks ran first, in how many pieces, and whether a chunk ran on the
first attempt or the third. Each (key, row checksum) pair is hashed with SHA-256
and the digests are added modulo 2**256 (a multiset hash): adding is
associative and commutative, so per-chunk sums combine into the phase's, and a
row replaced later (a quarantined row retried) can be taken out and put back.

    >>> a = SetChecksum(); a.add("k1", "x"); a.add("k2", "y")
    >>> b = SetChecksum(); b.add("k2", "y"); b.add("k1", "x")
    >>> a.hexdigest() == b.hexdigest()
    True
    >>> parts = [SetChecksum.of([("k1", "x")]), SetChecksum.of([("k2", "y")])]
    >>> combine([p.hexdigest() for p in parts]) == a.hexdigest()
    True
"""

import hashlib

MODULUS = 1 << 256
_WIDTH = 64


def digest(key, checksum):
    """The integer SHA-256 digest of one row: its key and its checksum."""
    return int.from_bytes(hashlib.sha256(f"{key}\t{checksum}\n".encode()).digest(), "big")


class SetChecksum:
    """A running sum of row digests (see the module docstring)."""

    __slots__ = ("total",)

    def __init__(self, total=0):
        self.total = total % MODULUS

    @classmethod
    def of(cls, pairs):
        out = cls()
        for key, checksum in pairs:
            out.add(key, checksum)
        return out

    @classmethod
    def from_hex(cls, text):
        return cls(int(text, 16) if text else 0)

    def add(self, key, checksum):
        self.total = (self.total + digest(key, checksum)) % MODULUS

    def remove(self, key, checksum):
        self.total = (self.total - digest(key, checksum)) % MODULUS

    def hexdigest(self):
        return f"{self.total:0{_WIDTH}x}"


def combine(hexdigests):
    """The checksum of the union of the rows of several sums (hex digests; empty ones count as 0)."""
    return SetChecksum(sum(int(h, 16) for h in hexdigests if h)).hexdigest()
