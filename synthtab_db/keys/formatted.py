"""Formatted ids: a fixed prefix, a (zero-padded) number, a fixed suffix.

'C0001', 'INV-000123', '10248': the number continues after the largest one in
the target (the first generation starts at the source's smallest), keeping
the prefix, suffix and padding width, so new ids look like the old ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.keys.base import KeyGenerator, as_strings, register_key_generator
from synthtab_db.planner.schema import Column

_PATTERN = r"^(?P<prefix>.*?)(?P<number>\d+)(?P<suffix>\D*)$"
_MAX_DIGITS = 18  # the numeric part must fit in int64


@register_key_generator
class FormattedKeys(KeyGenerator):
    name = "formatted"

    def __init__(self, prefix: str = "", suffix: str = "", width: int = 1, start: int = 1) -> None:
        self.prefix, self.suffix, self.width, self.start = prefix, suffix, width, start

    @classmethod
    def accepts(cls, present: pa.Array, column: Column) -> bool:
        parts = _split(as_strings(present))
        if parts is None:
            return False
        return _distinct(parts, "prefix") == 1 and _distinct(parts, "suffix") == 1

    def _fit(self, present: pa.Array) -> None:
        parts = _split(as_strings(present))
        if parts is None:  # no source keys: plain numbers '1', '2', ... (the constructor's format)
            return
        self.prefix = parts.field("prefix")[0].as_py()
        self.suffix = parts.field("suffix")[0].as_py()
        self.width = _padding_width(parts.field("number"))
        self.start = int(pc.min(parts.field("number").cast(pa.int64())).as_py())

    def generate(self, n: int, rng: np.random.Generator,
                 existing: pa.Array | pa.ChunkedArray | None = None) -> pa.Array:
        first = max(self.start - 1, self._largest(existing)) + 1
        return self._format(np.arange(first, first + n, dtype=np.int64))

    def is_positional(self) -> bool:
        return True

    def at(self, positions: np.ndarray) -> pa.Array:
        return self._format(self.start + np.asarray(positions, dtype=np.int64))

    def _format(self, numbers: np.ndarray) -> pa.Array:
        padded = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width=self.width, padding="0")
        keys = pc.binary_join_element_wise(self.prefix, padded, self.suffix, "")
        self._check_length(keys)
        return keys

    def _largest(self, existing: pa.Array | pa.ChunkedArray | None) -> int:
        """The largest number among existing keys with our prefix and suffix."""
        parts = _split(as_strings(existing), strict=False)
        if parts is None or len(parts) == 0:
            return -1
        same = pc.and_(pc.equal(parts.field("prefix"), self.prefix), pc.equal(parts.field("suffix"), self.suffix))
        numbers = parts.field("number").filter(same)
        short = numbers.filter(pc.less_equal(pc.utf8_length(numbers), _MAX_DIGITS))
        return int(pc.max(short.cast(pa.int64())).as_py()) if len(short) else -1

    def _check_length(self, keys: pa.Array) -> None:
        limit = self.column.type.length
        if limit is not None and len(keys) and pc.max(pc.utf8_length(keys)).as_py() > limit:
            raise self._error(f"the next ids no longer fit in {self.column.type.sql}")

    def continues(self) -> bool:
        return True

    def _params(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "suffix": self.suffix, "width": self.width, "start": self.start}

    def _load(self, params: dict[str, Any]) -> None:
        self.prefix, self.suffix = params["prefix"], params["suffix"]
        self.width, self.start = int(params["width"]), int(params["start"])


def _split(values: pa.Array, strict: bool = True) -> pa.StructArray | None:
    """prefix/number/suffix per value; None when (strict) some value has no number part."""
    if len(values) == 0:
        return None if strict else pc.extract_regex(values, _PATTERN)
    matches = pc.match_substring_regex(values, _PATTERN)
    if strict and not pc.all(matches).as_py():
        return None
    parts = pc.extract_regex(values.filter(matches), _PATTERN)
    if strict and pc.max(pc.utf8_length(parts.field("number"))).as_py() > _MAX_DIGITS:
        return None
    return parts


def _distinct(parts: pa.StructArray, field: str) -> int:
    return len(pc.unique(parts.field(field)))


def _padding_width(numbers: pa.Array) -> int:
    """The padded width when some number has a leading zero ('0042'), else 1 (no padding)."""
    padded = numbers.filter(pc.and_(pc.starts_with(numbers, "0"), pc.greater(pc.utf8_length(numbers), 1)))
    return int(pc.min(pc.utf8_length(padded)).as_py()) if len(padded) else 1
