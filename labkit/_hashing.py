"""Counter-based random numbers: SplitMix64 hashing of integer keys.

A value drawn this way depends only on its keys (seed, stream, pixel position...), never on the order or the
blocks in which values are computed, so that lazy, block-wise computations are reproducible whatever the chunking.
"""

from __future__ import annotations

import numpy as np

GOLDEN = 0x9E3779B97F4A7C15
"""SplitMix64's increment (the golden ratio in 64 bits)."""
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_U30, _U27, _U31 = (np.uint64(n) for n in (30, 27, 31))


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on a uint64 array (a bijection, wrapping arithmetic); returns a new array.

    Example
    -------
    >>> int(mix64(np.array([1], np.uint64))[0]) != int(mix64(np.array([2], np.uint64))[0])
    True
    """
    x = x ^ (x >> _U30)
    x *= _M1
    x ^= x >> _U27
    x *= _M2
    x ^= x >> _U31
    return x


def splitmix64(z) -> np.ndarray:
    """One SplitMix64 step: the well-mixed 64-bit hash of each value of ``z``.

    Example
    -------
    >>> splitmix64([0])[0] == mix64(np.array([GOLDEN], np.uint64))[0]
    np.True_
    """
    return mix64(np.asarray(z, dtype=np.uint64) + np.uint64(GOLDEN))
