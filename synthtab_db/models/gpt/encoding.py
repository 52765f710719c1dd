"""A table's columns as tokens of one vocabulary, and token rows back to columns.

Vocabulary layout (``Layout``): a few special tokens, then per category or
number column one token per value ("column = value": the token itself says
which column it belongs to, so a row needs no separate column-name tokens), a
start marker per free-text column, then the sub-word pieces all text columns
share.  Numbers and dates use argn's quantile-bin encoder (ordered bins, the
value drawn inside its bin), categories argn's capped category encoder, so
WHERE restrictions on them are the ones argn computes.

A row's piece for a column: one token; for text, the column's marker, its
sub-word tokens and ``SEP`` (or ``NULL`` for a NULL text).

Under differential privacy (``from_release``) the vocabulary comes from DP-released
column statistics (``privacy.columns``) and never from the rows: categories kept by a
noisy threshold (the rest the protected ``_RARE_``), number bins from DP bounds and
quantiles (values clipped to them), text as bytes of a fixed alphabet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from synthtab_db.models.argn.encoding import _ENCODERS as FIXED_ENCODERS
from synthtab_db.models.argn.encoding import encoder_class
from synthtab_db.models.gpt.text import TextTokenizer, is_free_text
from synthtab_db.planner.schema import Column, Table
from synthtab_db.transforms import NullIndicator, arrow_type, as_array, column_bounds

PAD, BOS, ROW, CTX, SEP, NULL = range(6)
SPECIALS = ("<pad>", "<bos>", "<row>", "<ctx>", "<sep>", "<null>")
NOTHING = -1  # an empty cell while pieces are composed into sequences


@dataclass(frozen=True)
class Layout:
    """Where each column's tokens start; text pieces come last."""

    sizes: tuple[int, ...]  # tokens per column: values for a fixed column, 1 (the marker) for text
    text_size: int

    @property
    def offsets(self) -> np.ndarray:
        return len(SPECIALS) + np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)

    @property
    def text_offset(self) -> int:
        return len(SPECIALS) + int(sum(self.sizes))

    @property
    def vocabulary(self) -> int:
        return self.text_offset + self.text_size

    def owner(self) -> np.ndarray:
        """Column of every token id (-1 for specials and text pieces)."""
        owner = np.full(self.vocabulary, -1, dtype=np.int64)
        for j, (start, size) in enumerate(zip(self.offsets, self.sizes)):
            owner[start:start + size] = j
        return owner


class TableCodec:
    """One encoder per fixed column (None for text columns), the shared text tokenizer."""

    def __init__(self, columns: list[Column], encoders: list[Any], nulls: list[NullIndicator],
                 tokenizer: TextTokenizer | None) -> None:
        self.columns, self.encoders, self.nulls, self.tokenizer = columns, encoders, nulls, tokenizer
        self.text = [j for j, e in enumerate(encoders) if e is None]
        self.layout = Layout(tuple(1 if e is None else e.vocabulary for e in encoders),
                             tokenizer.size if tokenizer else 0)

    @classmethod
    def fit(cls, data: pa.Table, table: Table, options: dict[str, Any]) -> "TableCodec":
        columns = [table.column(name) for name in data.column_names]
        bounds = column_bounds(table)
        texts = [is_free_text(data.column(c.name), c) for c in columns]
        encoders = [None if text else encoder_class(c).fit(data.column(c.name), c, bounds[c.name], options)
                    for c, text in zip(columns, texts)]
        nulls = [NullIndicator.fit(data.column(c.name), c) for c in columns]
        corpus = [v for c, text in zip(columns, texts) if text for v in _texts(data.column(c.name))]
        tokenizer = TextTokenizer.fit(corpus, options["text_vocabulary"]) if any(texts) else None
        return cls(columns, encoders, nulls, tokenizer)

    @classmethod
    def from_release(cls, table: Table, names: list[str], options: dict[str, Any], released: dict,
                     texts: set[str]) -> "TableCodec":
        """From DP-released statistics by column name: the ``texts`` columns (``private.text_columns``)
        as byte tokens of the fixed alphabet, the rest encoded as argn encodes them from a release;
        NULL rates are the released ones."""
        columns = [table.column(name) for name in names]
        texts = [c.name in texts for c in columns]
        encoders = [None if text else encoder_class(c).from_release(c, released[c.name], options)
                    for c, text in zip(columns, texts)]
        nulls = [released[c.name].nulls for c in columns]
        return cls(columns, encoders, nulls, TextTokenizer.fixed() if any(texts) else None)

    # -- rows -> pieces ------------------------------------------------------------------
    def pieces(self, data: pa.Table, rng: np.random.Generator, max_text_tokens: int) -> list[np.ndarray]:
        """Per column a (rows, width) matrix of token ids, NOTHING-padded."""
        return [self._fixed_piece(j, data, rng) if self.encoders[j] is not None
                else self._text_piece(j, data.column(c.name), max_text_tokens)
                for j, c in enumerate(self.columns)]

    def _fixed_piece(self, j: int, data: pa.Table, rng: np.random.Generator) -> np.ndarray:
        tokens = self.encoders[j].encode(data.column(self.columns[j].name), rng)
        return (tokens + self.layout.offsets[j])[:, None]

    def _text_piece(self, j: int, values: pa.ChunkedArray, max_text_tokens: int) -> np.ndarray:
        array = as_array(values)
        ids = self.text_ids(array.fill_null("").to_pylist())
        valid = array.is_valid().to_numpy(zero_copy_only=False)
        piece = np.full((len(array), max_text_tokens + 2), NOTHING, dtype=np.int64)
        piece[:, 0] = self.layout.offsets[j]
        for r, row in enumerate(ids):
            row = row[:max_text_tokens] if valid[r] else []
            piece[r, 1:len(row) + 1] = row
            piece[r, len(row) + 1] = SEP if valid[r] else NULL
        return piece[:, :max(len(r) for r in ids) + 2 if ids else 2]

    def text_ids(self, texts: list[str]) -> list[list[int]]:
        """Texts as global token ids."""
        return [[i + self.layout.text_offset for i in row] for row in self.tokenizer.encode(texts)]

    # -- token columns -> Arrow ----------------------------------------------------------
    def decode_fixed(self, j: int, tokens: np.ndarray, rng: np.random.Generator, restriction=None) -> pa.Array:
        return self.encoders[j].decode(tokens - self.layout.offsets[j], rng, restriction)

    def decode_text(self, j: int, ids: list[list[int]] | None, null: np.ndarray) -> pa.Array:
        texts = self.tokenizer.decode([[i - self.layout.text_offset for i in row] for row in ids])
        return pa.array(texts, type=arrow_type(self.columns[j].type), mask=null if null.any() else None)

    # -- persistence ---------------------------------------------------------------------
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        metas, arrays = [], {}
        for j, (encoder, nulls) in enumerate(zip(self.encoders, self.nulls)):
            if encoder is None:
                metas.append({"encoder": "text", "nulls": nulls.to_dict()})
                continue
            meta, state = encoder.to_state()
            metas.append(meta)
            arrays.update({f"{j}.{key}": value for key, value in state.items()})
        return {"encoders": metas, "tokenizer": self.tokenizer.to_json() if self.tokenizer else None}, arrays

    @classmethod
    def from_state(cls, table: Table, names: list[str], meta: dict[str, Any],
                   arrays: dict[str, np.ndarray]) -> "TableCodec":
        columns = [table.column(name) for name in names]
        bounds = column_bounds(table)
        encoders, nulls = [], []
        for j, (column, item) in enumerate(zip(columns, meta["encoders"])):
            state = {key[len(f"{j}."):]: value for key, value in arrays.items() if key.startswith(f"{j}.")}
            kind = FIXED_ENCODERS.get(item["encoder"])
            encoders.append(None if kind is None else kind.from_state(column, bounds[column.name], item, state))
            nulls.append(NullIndicator.from_dict(item["nulls"]))
        tokenizer = TextTokenizer.from_json(meta["tokenizer"]) if meta["tokenizer"] else None
        return cls(columns, encoders, nulls, tokenizer)


def _texts(values: pa.ChunkedArray) -> list[str]:
    return as_array(values).drop_null().to_pylist()
