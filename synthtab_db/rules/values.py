"""Values made by shape, never copied: emails, names, phone numbers and codes, URLs, text.

Each maker takes (n, rng, hints) and returns n strings; ``hints`` are what the
profile allows to be reused (frequent email domains, shapes, words seen in many
rows).  One registry entry per meaning.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.transforms.strings import strings_from_codepoints

CONSONANTS = np.array(list("bcdfghjklmnprstvwz"))
VOWELS = np.array(list("aeiou"))
SAFE_DOMAINS = ("example.com", "example.org", "example.net")
SAFE_TLDS = ("com", "org", "net")


def syllable_words(n: int, rng: np.random.Generator, syllables: tuple[int, int] = (2, 3)) -> np.ndarray:
    """Pronounceable made-up words ('kadoli'): consonant-vowel pairs."""
    count = rng.integers(syllables[0], syllables[1] + 1, size=n)
    width = syllables[1]
    cons = CONSONANTS[rng.integers(len(CONSONANTS), size=(n, width))]
    vows = VOWELS[rng.integers(len(VOWELS), size=(n, width))]
    pairs = np.char.add(cons, vows)
    keep = np.arange(width)[None, :] < count[:, None]
    pairs = np.where(keep, pairs, "")
    out = pairs[:, 0]
    for i in range(1, width):
        out = np.char.add(out, pairs[:, i])
    return out


def emails(n: int, rng: np.random.Generator, hints: dict) -> pa.Array:
    domains = np.array(hints.get("domains") or SAFE_DOMAINS)
    local = np.char.add(np.char.add(syllable_words(n, rng), "."), syllable_words(n, rng))
    digits = rng.integers(0, 1000, size=n).astype(str)
    local = np.where(rng.random(n) < 0.5, np.char.add(local, digits), local)
    return pa.array(np.char.add(np.char.add(local, "@"), domains[rng.integers(len(domains), size=n)]))


def names(n: int, rng: np.random.Generator, hints: dict) -> pa.Array:
    """Names from tokens many source rows share, else made-up ones; the source's word count and case."""
    pool = np.array(hints.get("tokens") or [])
    words = int(hints.get("words") or 1)
    parts = []
    for _ in range(words):
        made = np.char.capitalize(syllable_words(n, rng))
        parts.append(pool[rng.integers(len(pool), size=n)] if len(pool) >= 20 else made)
    out = parts[0]
    for part in parts[1:]:
        out = np.char.add(np.char.add(out, " "), part)
    return pa.array(np.char.upper(out) if hints.get("upper") else out)


def by_shape(n: int, rng: np.random.Generator, hints: dict) -> pa.Array:
    """'9' a digit, 'A' an upper-case letter, 'a' a lower-case one; other characters kept."""
    shapes = list(hints.get("shapes") or ["AAA-999"])
    chosen = [shapes[i] for i in rng.integers(len(shapes), size=n)]
    width = max(len(s) for s in shapes)
    grid = np.zeros((n, width), dtype=np.uint32)
    for i, shape in enumerate(chosen):
        grid[i, :len(shape)] = [ord(ch) for ch in shape]
    fill = {ord("9"): (ord("0"), 10), ord("A"): (ord("A"), 26), ord("a"): (ord("a"), 26)}
    for mark, (start, size) in fill.items():
        at = grid == mark
        grid[at] = start + rng.integers(size, size=int(at.sum()))
    return strings_from_codepoints(grid)


def urls(n: int, rng: np.random.Generator, hints: dict) -> pa.Array:
    tlds = np.array(SAFE_TLDS)[rng.integers(len(SAFE_TLDS), size=n)]
    host = np.char.add(np.char.add("https://www.", syllable_words(n, rng)), ".")
    return pa.array(np.char.add(np.char.add(host, tlds), "/"))


def text(n: int, rng: np.random.Generator, hints: dict) -> pa.Array:
    """Sentences of words many source rows share (made-up words when too few)."""
    pool = np.array(hints.get("tokens") or [])
    length = max(int(hints.get("words") or 8), 1)
    grid = pool[rng.integers(len(pool), size=(n, length))] if len(pool) >= 20 else \
        syllable_words(n * length, rng).reshape(n, length)
    out = grid[:, 0]
    for i in range(1, length):
        out = np.char.add(np.char.add(out, " "), grid[:, i])
    return pa.array(np.char.add(np.char.capitalize(out), "."))


MAKERS: dict[str, Callable[[int, np.random.Generator, dict], pa.Array]] = {
    "email": emails, "name": names, "phone": by_shape, "code": by_shape, "url": urls, "text": text,
}


def make_values(meaning: str, n: int, rng: np.random.Generator, hints: dict) -> pa.Array:
    return MAKERS[meaning](n, rng, hints) if n else pa.array([], pa.string())


def replace_where(values: pa.Array, mask: np.ndarray, meaning: str, rng: np.random.Generator, hints: dict) -> pa.Array:
    """``values`` with the masked ones made anew."""
    if not mask.any():
        return values
    made = make_values(meaning, int(mask.sum()), rng, hints).to_numpy(zero_copy_only=False)
    out = values.cast(pa.string()).to_numpy(zero_copy_only=False).astype(object)
    out[mask] = made
    return pa.array(out, type=pa.string(), mask=pc.is_null(values).to_numpy(zero_copy_only=False))
