"""What every evaluation part reads: the tables, the compared columns, the samples and
their shared encoding, prepared once per table pair."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import TableRef
from synthtab_db.quality import encode
from synthtab_db.quality.columns import ColumnSpec, compared_columns, describe
from synthtab_db.quality.encode import Encoding
from synthtab_db.quality.options import EvaluateOptions
from synthtab_db.quality.report import MetricRow
from synthtab_db.quality.sample import Frame, draw, split

TEST_SHARE = 0.25


@dataclass(frozen=True)
class Context:
    con: object
    synthetic: TableRef
    real: TableRef
    holdout: TableRef | None
    target: str | None
    options: EvaluateOptions
    specs: list[ColumnSpec]
    skipped: list[str]
    real_sample: Frame
    synthetic_sample: Frame
    holdout_sample: Frame | None
    enc: Encoding

    def test_set(self) -> tuple[Frame, Frame, str]:
        """(train, test, where the test rows come from): the holdout, else a split of the real sample."""
        if self.holdout_sample is not None:
            return self.real_sample, self.holdout_sample, f"holdout {self.holdout}"
        train, test = split(self.real_sample, TEST_SHARE, self.options.seed)
        return train, test, f"{TEST_SHARE:.0%} of the real sample (the generator may have seen these rows)"

    def sample_row(self) -> MetricRow:
        """The sample sizes, reported beside the metrics they bound."""
        sizes = {"real": self.real_sample, "synthetic": self.synthetic_sample, "holdout": self.holdout_sample}
        detail = {
            f"{k}_{what}": getattr(f, attr)
            for k, f in sizes.items()
            if f is not None
            for what, attr in (("sampled", "rows"), ("rows", "total_rows"))
        }
        return MetricRow(
            "overall",
            "sample_rows",
            float(self.synthetic_sample.rows),
            None,
            {**detail, "limit": self.options.sample_rows, "skipped_columns": self.skipped},
        )


def prepare(
    con,
    synthetic: TableRef,
    real: TableRef,
    holdout: TableRef | None,
    target: str | None,
    options: EvaluateOptions,
    exclude: tuple[str, ...] = (),
) -> Context:
    """``exclude``: key columns the catalog can't tell (a scratch copy of a source has no constraints)."""
    for ref in (synthetic, real, holdout):
        _must_exist(con, ref)
    specs, skipped = compared_columns(con, real, synthetic)
    specs, skipped = _without(specs, skipped, exclude)
    target = _known_column(specs, target, "TARGET")
    sensitive = _known_column(specs, options.sensitive, "sensitive")
    options = options.model_copy(update={"sensitive": sensitive})
    _holdout_has_columns(con, holdout, specs)
    n, seed = options.sample_rows, options.seed
    samples = [
        draw(con, ref, specs, "synthetic" if ref is synthetic else "real", n, seed) if ref else None
        for ref in (real, synthetic, holdout)
    ]
    return Context(
        con, synthetic, real, holdout, target, options, specs, skipped, *samples, encode.fit(samples[0], specs)
    )


def _without(specs: list[ColumnSpec], skipped: list[str], exclude: tuple[str, ...]):
    gone = {c.lower() for c in exclude}
    kept = [s for s in specs if s.name.lower() not in gone]
    return kept, skipped + [f"{s.name}: key column (generated, not learned)" for s in specs if s not in kept]


def _must_exist(con, ref: TableRef | None) -> None:
    if ref is None:
        return
    try:
        describe(con, ref)
    except duckdb.CatalogException:
        raise SynthError(f"EVALUATE SYNTHETIC: table {ref} does not exist") from None


def _known_column(specs: list[ColumnSpec], name: str | None, what: str) -> str | None:
    """The compared column's own spelling; a key, missing or uncomparable column is refused."""
    if name is None:
        return None
    for spec in specs:
        if spec.name.lower() == name.lower():
            return spec.name
    allowed = ", ".join(s.name for s in specs) or "(none)"
    raise SynthError(f"{what} column {name!r} is not a compared column of both tables; columns: {allowed}")


def _holdout_has_columns(con, holdout: TableRef | None, specs: list[ColumnSpec]) -> None:
    if holdout is None:
        return
    have = {n.lower() for n in describe(con, holdout)}
    missing = [s.name for s in specs if s.name.lower() not in have]
    if missing:
        raise SynthError(f"HOLDOUT table {holdout} lacks columns of the real table: {', '.join(missing)}")
