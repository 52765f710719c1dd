"""What a DP fit of gpt learns outside training, taken from DP-released statistics only.

The column statistics are one release (``privacy.columns.release_columns``) from the
run's own budget; everything here is post-processing of it:

* the vocabulary (``TableCodec.from_release``: released categories and number bins, text
  as bytes of a fixed alphabet);
* which string columns are free text (``text_columns``): those whose release pools at least
  ``RELEASED_TEXT_SHARE`` of the values as rare and, as the non-DP rule asks, whose values
  mostly contain whitespace.  That share is the one query here that reads rows: a noisy
  count per candidate column, a Gaussian mechanism of its own (``SPACED_NOISE`` times the
  statistics' noise multiplier) recorded in the plan, so DP-SGD's calibration pays for it
  out of the same epsilon.  Without it, a category column of a small table (most of its
  values below the release threshold) would be written byte by byte;
* a child table's context cells, which CTGAN-style matching of sampled rows to each
  requested parent row uses: quartiles of a number's released distribution, the most
  frequent released labels of a category, and the first ``ContextCells.MAX_COLUMNS``
  context columns (the non-DP fit ranks them by Cramér's V on the rows, which would be
  a statistic outside the mechanism).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.models.context import ORDERED, Binner, ContextCells, numbers
from synthtab_db.models.gpt.text import MIN_SPACED_SHARE, is_released_text
from synthtab_db.planner.schema import Table
from synthtab_db.privacy.accountant import Gaussian, PrivacyPlan
from synthtab_db.privacy.columns import ColumnRelease
from synthtab_db.privacy.mechanisms import noisy_counts
from synthtab_db.transforms import as_array, ndtri

_CELLS = 4  # as Binner.fit: quartiles, or twice as many labels
SPACED_NOISE = 2.0  # the spaced-values counts need less precision than the statistics


def text_columns(data: pa.Table, table: Table, released: dict[str, ColumnRelease], plan: PrivacyPlan,
                 rng: np.random.Generator) -> set[str]:
    """The free-text columns under DP: rare-heavy in the release, mostly spaced by a noisy count."""
    candidates = [n for n in data.column_names if is_released_text(table.column(n), released[n].transform)]
    if not candidates:
        return set()
    noise = SPACED_NOISE * plan.statistics_noise()
    plan.mechanisms.append(Gaussian(noise))
    sigma = noise * plan.contribution * float(np.sqrt(len(candidates)))  # a unit's rows move each count
    spaced = np.array([_spaced(data.column(n)) for n in candidates], dtype=np.float64)
    noisy = noisy_counts(spaced, sigma, rng)
    return {n for n, count in zip(candidates, noisy) if count >= MIN_SPACED_SHARE * max(released[n].present, 1.0)}


def _spaced(values: pa.ChunkedArray) -> int:
    present = as_array(values).drop_null()
    return int(pc.sum(pc.match_substring_regex(present, r"\s")).as_py() or 0) if len(present) else 0


def released_cells(names: list[str], table: Table, released: dict[str, ColumnRelease]) -> ContextCells:
    """Context cells of the first context columns, from their released transforms."""
    chosen = names[: ContextCells.MAX_COLUMNS]
    return ContextCells(chosen, [released_binner(released[n], table.column(n).type.kind in ORDERED) for n in chosen])


def released_binner(release: ColumnRelease, ordered: bool) -> Binner:
    """A Binner whose edges (ordered) or labels (the rest) come from a released transform."""
    transform = release.transform
    if ordered:
        scores = ndtri(np.linspace(0, 1, _CELLS + 1)[1:-1])
        return Binner(True, np.unique(numbers(transform.reverse(scores))), [])
    labels = transform.labels.drop_null()
    return Binner(False, np.zeros(0), labels.cast(pa.string()).to_pylist()[: _CELLS * 2])
