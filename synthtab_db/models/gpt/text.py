"""Free-text columns: which columns are text, their sub-word tokenizer, and the copy guard.

A VARCHAR column is free text when it has many distinct values (so a category per
value would be mostly a rare bucket) and most values contain whitespace (names,
titles, comments), which IDs and codes do not.  Text is generated sub-word by
sub-word from one byte-level BPE trained on the table's text columns, so any
string round-trips and new combinations of known pieces can appear.

A language model can also reproduce a training value verbatim.  ``CopyGuard``
keeps a hash per distinct training text (never the text) and rejects a
generated text equal to one of more than ``memorization_tokens`` tokens, unless
the value is frequent (``memorization_frequent``): a common title is not a leak.

Under differential privacy neither is learned from the rows: the tokenizer is
``TextTokenizer.fixed()`` (the 256 byte symbols, no merges: text is written
byte by byte from a data-independent alphabet), the text columns are the ones
whose DP release pools most values into the rare bucket (``is_released_text``),
and there is no copy guard (DP-SGD bounds what any one record can leave in
the model; rejecting outputs that equal raw values would be a data-dependent
step outside the mechanism, and the hashes a release of the raw texts).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from synthtab_db.planner.schema import Column, Kind
from synthtab_db.transforms import as_array

MIN_DISTINCT = 20  # fewer distinct values: a category column
MIN_DISTINCT_SHARE = 0.3  # distinct / non-null values at least this: too many for categories
MIN_SPACED_SHARE = 0.3  # share of values with whitespace: text, not an ID or a code
BYTES = 256  # the byte-level alphabet every BPE vocabulary starts from
RELEASED_TEXT_SHARE = 0.3  # under DP: a string column whose released rare bucket holds this share is text


def is_free_text(values: pa.ChunkedArray, column: Column) -> bool:
    """Many distinct values, mostly with spaces: generated as text, not as categories."""
    if column.type.kind is not Kind.STRING:
        return False
    present = as_array(values).drop_null()
    distinct = len(pc.unique(present)) if len(present) else 0
    if distinct < MIN_DISTINCT or distinct < MIN_DISTINCT_SHARE * len(present):
        return False
    spaced = pc.sum(pc.match_substring_regex(present, r"\s")).as_py() or 0
    return spaced >= MIN_SPACED_SHARE * len(present)


def is_released_text(column: Column, transform) -> bool:
    """Under DP: a free string column (no schema domain) whose DP-released category counts put at
    least RELEASED_TEXT_SHARE of its values in the rare bucket (too many distinct values for
    categories).  Post-processing of released counts: it costs no budget, and it looks at no
    row (so, unlike ``is_free_text``, it cannot ask how many values contain spaces)."""
    if column.type.kind is not Kind.STRING or transform.schema_only or transform.rare_code < 0:
        return False
    return float(transform.probabilities[transform.rare_code]) >= RELEASED_TEXT_SHARE


class TextTokenizer:
    """Byte-level BPE over every text column's values; ids 0..size-1."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.size = tokenizer.get_vocab_size()

    @classmethod
    def fit(cls, texts: list[str], vocabulary: int) -> "TextTokenizer":
        """At most ``vocabulary`` pieces, and fewer on little text: merges beyond about half the
        distinct words would make whole rare values single tokens, which the model can only copy."""
        words = len({w for t in texts for w in t.split()})
        vocabulary = min(vocabulary, BYTES + max(words // 2, 44))
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocabulary, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False, special_tokens=[])
        tokenizer.train_from_iterator(texts or [""], trainer=trainer)
        return cls(tokenizer)

    @classmethod
    def fixed(cls) -> "TextTokenizer":
        """The 256 byte symbols and no merges: a vocabulary that depends on no data (for DP)."""
        alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
        tokenizer = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        return cls(tokenizer)

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[list[int]]) -> list[str]:
        return self.tokenizer.decode_batch(ids, skip_special_tokens=False)

    def pieces(self) -> list[str]:
        """Each id's text (for seeding a pretrained model's embeddings)."""
        return self.decode([[i] for i in range(self.size)])

    def to_json(self) -> str:
        return self.tokenizer.to_str()

    @classmethod
    def from_json(cls, text: str) -> "TextTokenizer":
        return cls(Tokenizer.from_str(text))


def text_hashes(texts: list[str]) -> np.ndarray:
    """8-byte BLAKE2b digests as uint64: what the guard keeps instead of the texts."""
    digests = b"".join(hashlib.blake2b(t.encode(), digest_size=8).digest() for t in texts)
    return np.frombuffer(digests, dtype="<u8").copy()


class CopyGuard:
    """Hashes of the training texts a generated text must not equal (long and infrequent ones)."""

    def __init__(self, hashes: np.ndarray) -> None:
        self.hashes = np.unique(np.asarray(hashes, dtype=np.uint64))

    @classmethod
    def fit(cls, texts: list[str], lengths: list[int], min_tokens: int, frequent: int) -> "CopyGuard":
        values, counts = np.unique(np.array(texts, dtype=object), return_counts=True) if texts else ([], [])
        length = dict(zip(texts, lengths))
        guarded = [v for v, c in zip(values, counts) if length[v] > min_tokens and c < frequent]
        return cls(text_hashes(guarded))

    def copies(self, texts: list[str]) -> np.ndarray:
        """True where a generated text equals a guarded training value."""
        if not self.hashes.size or not texts:
            return np.zeros(len(texts), dtype=bool)
        return np.isin(text_hashes(texts), self.hashes)
