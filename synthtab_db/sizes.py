"""Sizes as people and DuckDB write them ('512MB', '18.6 GiB'), and what the ``memory_limit``
option accepts: read by the statements' validation and by the engine, so it lives below both."""

from __future__ import annotations

import re

from synthtab_db.errors import SynthError

UNITS = {"b": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "kb": 10**3, "mb": 10**6, "gb": 10**9,
         "tb": 10**12}

#: the ``memory_limit`` option of GENERATE and TRAIN (engine/memory.py)
MEMORY_OFF = ("none", "off")
MEMORY_DEFAULT = "1GB"
MEMORY_HELP = "a size of at least 64MB like '512MB' or '4GB', or 'none'"


def parse_size(text: str) -> int:
    """DuckDB's '18.6 GiB' (or a user's '512MB') as bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*", text)
    if not match or match.group(2).lower() not in UNITS:
        raise SynthError(f"cannot read the size {text!r}")
    return int(float(match.group(1)) * UNITS[match.group(2).lower()])


def size_bytes(text: str) -> int | None:
    """``parse_size``, or None when ``text`` is not a size."""
    try:
        return parse_size(text)
    except SynthError:
        return None


def is_memory_limit(value: object) -> bool:
    """What the ``memory_limit`` option accepts (``MEMORY_HELP``)."""
    return isinstance(value, str) and (value.lower() in MEMORY_OFF or (size_bytes(value) or 0) >= 64 * 2**20)
