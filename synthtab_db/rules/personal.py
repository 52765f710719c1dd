"""What a personal or free-text column may reuse from the source: whole values and
words seen in at least RARE_BELOW rows.  Everything else is made anew by shape."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.profile.model import RARE_BELOW, ColumnProfile

#: words per value when there are no rows to count them in
DEFAULT_WORDS = {"name": 2, "text": 8}


def learn_hints(values: pa.ChunkedArray | pa.Array, profile: ColumnProfile) -> dict:
    """Frequent whole values, frequent words, the usual word count and case."""
    strings = [v for v in pc.cast(values, pa.string()).to_pylist() if v]
    whole = Counter(strings)
    token_rows = Counter(t for v in set(strings) for t in set(v.split()) for _ in range(whole[v]))
    words = Counter(len(v.split()) for v in strings)
    return {
        "allowed": sorted(v for v, k in whole.items() if k >= RARE_BELOW),
        "tokens": sorted(t for t, k in token_rows.items() if k >= RARE_BELOW and t.isalpha()),
        "words": words.most_common(1)[0][0] if words else DEFAULT_WORDS.get(profile.meaning, 1),
        "upper": bool(strings) and sum(v.isupper() for v in strings) > len(strings) / 2,
        "domains": list(profile.domains),
        "shapes": list(profile.shapes),
    }


def not_allowed(values: pa.Array, hints: dict) -> np.ndarray:
    """Rows whose value is not one many source rows share (NULLs stay)."""
    allowed = pa.array(hints.get("allowed") or [], type=pa.string())
    strings = pc.cast(values, pa.string())
    keep = pc.is_in(strings, value_set=allowed)
    return pc.and_(pc.invert(keep), pc.is_valid(strings)).to_numpy(zero_copy_only=False)
