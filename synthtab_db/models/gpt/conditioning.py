"""WHERE conditions as what the decoder needs: the order, log weights, forced text, filters.

A category or number column is restricted as argn restricts it (its tokens'
log weights; a range cuts through a bin, a value snaps), and the decoder draws
it first, so the other columns follow the model's conditional.  A text column
with ``=`` / ``IN`` / ``IS NULL`` gets its value's tokens forced into the
prefix (one of the IN values per row, at random); a range on a text column is
checked on the decoded text and failing rows are drawn again (rejection
inside the model, the engine's SQL check then passes them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.conditions import Condition
from synthtab_db.errors import SynthError
from synthtab_db.models.argn.restriction import Restriction
from synthtab_db.models.gpt.encoding import NULL, SEP, TableCodec


@dataclass
class Conditioning:
    first: list[int] = field(default_factory=list)  # conditioned columns, in the order given
    restrictions: dict[int, Restriction] = field(default_factory=dict)  # fixed columns
    texts: dict[int, Condition] = field(default_factory=dict)  # = / IN / IS NULL on text columns
    filters: dict[int, Condition] = field(default_factory=dict)  # ranges on text columns

    def order(self, columns: int) -> list[int]:
        return self.first + [j for j in range(columns) if j not in self.first]

    def weights(self) -> dict[int, np.ndarray]:
        return {j: r.log_weights for j, r in self.restrictions.items()}

    def allowed_tokens(self) -> dict[int, np.ndarray]:
        """Per restricted column, the column-local tokens it allows (for retrieval)."""
        return {j: np.flatnonzero(np.isfinite(r.log_weights)) for j, r in self.restrictions.items()}


def conditioning(codec: TableCodec, conditions: dict[str, Condition] | None) -> Conditioning:
    found = Conditioning()
    for key, condition in (conditions or {}).items():
        j = _position(codec, condition.column or key)
        found.first.append(j)
        if codec.encoders[j] is not None:
            found.restrictions[j] = codec.encoders[j].restrict(condition)
        elif condition.values is not None or condition.is_null:
            found.texts[j] = _text_condition(codec, j, condition)
        else:
            found.filters[j] = condition
    return found


def _position(codec: TableCodec, name: str) -> int:
    for j, column in enumerate(codec.columns):
        if column.name.lower() == name.lower():
            return j
    allowed = ", ".join(c.name for c in codec.columns)
    raise SynthError(f"condition on {name!r}, which the model does not generate (columns: {allowed})")


def _text_condition(codec: TableCodec, j: int, condition: Condition) -> Condition:
    if condition.is_null and codec.nulls[j].rate == 0:
        raise SynthError(f"column {codec.columns[j].name!r} is never NULL in the data the model learned")
    bad = [v for v in condition.values or () if not isinstance(v, str)]
    if bad:
        raise SynthError(f"column {codec.columns[j].name!r} is text; {bad[0]!r} is not a string")
    return condition


def forced_tokens(codec: TableCodec, texts: dict[int, Condition], rows: int,
                  rng: np.random.Generator) -> dict[int, list[list[int]]]:
    """Per conditioned text column, each row's tokens (a random one of the IN values)."""
    forced = {}
    for j, condition in texts.items():
        if condition.is_null:
            forced[j] = [[NULL]] * rows
            continue
        options = [ids + [SEP] for ids in codec.text_ids(list(condition.values))]
        forced[j] = [options[i] for i in rng.integers(0, len(options), size=rows)]
    return forced


def passes(values: pa.Array, condition: Condition) -> np.ndarray:
    """Rows of a decoded text column inside the condition's range."""
    keep = pc.is_valid(values)
    for bound, inclusive, op in ((condition.low, condition.low_inclusive, (pc.greater, pc.greater_equal)),
                                 (condition.high, condition.high_inclusive, (pc.less, pc.less_equal))):
        if bound is not None:
            keep = pc.and_(keep, op[int(inclusive)](values, pa.scalar(str(bound))))
    return pc.fill_null(keep, False).to_numpy(zero_copy_only=False)
