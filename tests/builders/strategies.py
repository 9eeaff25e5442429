"""Hypothesis strategies of damaged copies of some bytes, for fuzzing the parsers."""

from __future__ import annotations

from typing import Any


def mutations(base: bytes, *, hot: int = 0x70) -> Any:
    """A hypothesis strategy of damaged copies of ``base``: up to 8 edits, each a byte or
    a little-endian u16/u32 overwritten with a random or boundary value (half of them
    within the first ``hot`` bytes, where headers live), and maybe a truncation."""
    from hypothesis import strategies as st

    size = len(base)
    position = st.one_of(st.integers(0, min(hot, size) - 1), st.integers(0, size - 1))
    width = st.sampled_from([1, 2, 4])
    value = st.one_of(
        st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0xFFFFFFFF, size, size + 1, size // 2]),
        st.integers(0, 0xFFFFFFFF),
    )

    @st.composite
    def damaged(draw: Any) -> bytes:
        data = bytearray(base)
        edits = draw(st.lists(st.tuples(position, width, value), min_size=1, max_size=8))
        for at, n, number in edits:
            data[at : at + n] = (number & ((1 << 8 * n) - 1)).to_bytes(n, "little")
        del data[size:]
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
        return bytes(data)

    return damaged()
