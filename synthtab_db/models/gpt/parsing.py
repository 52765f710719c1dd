"""Generated token rows back to column values, with every malformed row flagged.

A row is well formed when each column occurs exactly once (one value token for
a category or number column; for a text column its marker, then only text
pieces, closed by ``<sep>``, or ``<null>`` right after the marker), nothing else
appears, and no text is longer than ``max_text_tokens``.  Checks are vectorised
over the batch; only the text pieces are gathered row by row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synthtab_db.models.gpt.encoding import NOTHING, NULL, SEP, SPECIALS, Layout


@dataclass
class Parsed:
    ok: np.ndarray  # (rows,) well formed
    fixed: dict[int, np.ndarray] = field(default_factory=dict)  # column -> value token per row
    texts: dict[int, list[list[int]]] = field(default_factory=dict)  # column -> text piece ids per row
    nulls: dict[int, np.ndarray] = field(default_factory=dict)  # text column -> NULL per row


def parse(rows: np.ndarray, layout: Layout, text_columns: list[int], max_text_tokens: int) -> Parsed:
    owner = layout.owner()
    present = rows != NOTHING
    own = np.where(present, owner[np.clip(rows, 0, layout.vocabulary - 1)], -1)
    counts = np.stack([(own == j).sum(axis=1) for j in range(len(layout.sizes))], axis=1)
    ends = present & ((rows == SEP) | (rows == NULL))
    strays = present & (rows < len(SPECIALS)) & ~ends
    ok = (counts == 1).all(axis=1) & ~strays.any(axis=1) & (ends.sum(axis=1) == len(text_columns))
    parsed = Parsed(ok=ok)
    for j in range(len(layout.sizes)):
        if j not in text_columns:
            parsed.fixed[j] = np.take_along_axis(rows, np.argmax(own == j, axis=1)[:, None], axis=1)[:, 0]
    for j in text_columns:
        _text(parsed, j, rows, own, ends, layout, max_text_tokens)
    return parsed


def _text(parsed: Parsed, j: int, rows: np.ndarray, own: np.ndarray, ends: np.ndarray, layout: Layout,
          max_text_tokens: int) -> None:
    """The pieces between column ``j``'s marker and the first end after it; flags bad rows."""
    width = rows.shape[1]
    marker = np.argmax(own == j, axis=1)
    after = np.arange(width)[None, :] > marker[:, None]
    end = np.where((ends & after).any(axis=1), np.argmax(ends & after, axis=1), width)
    inside = after & (np.arange(width)[None, :] < end[:, None])
    foreign = inside & (rows < layout.text_offset)
    length = end - marker - 1
    null = (end < width) & (np.take_along_axis(rows, np.minimum(end, width - 1)[:, None], axis=1)[:, 0] == NULL)
    parsed.ok &= (end < width) & ~foreign.any(axis=1) & (length <= max_text_tokens) & ~(null & (length > 0))
    parsed.nulls[j] = null
    parsed.texts[j] = [list(row[m + 1:e]) if good else [] for row, m, e, good in zip(rows, marker, end, parsed.ok)]
