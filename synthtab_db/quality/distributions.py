"""Two-sample statistics computed inside DuckDB over value relations.

Each function takes two SQL queries that yield one column ``x`` (real, synthetic),
so per-column fidelity and multi-table cardinality (children per parent) share
them. Everything runs as aggregates and windows over the full data: no rows come
back to Python except a few dozen histogram bins.
"""

from __future__ import annotations

import numpy as np

from synthtab_db.quality.sql import arrow, scalars

BINS = 30
TOP_CATEGORIES = 20


def _both(real: str, synthetic: str, where: str = "TRUE") -> str:
    return f"SELECT x, 0 AS s FROM ({real}) WHERE {where} UNION ALL SELECT x, 1 AS s FROM ({synthetic}) WHERE {where}"


def ks_wasserstein(con, real: str, synthetic: str) -> tuple[float | None, float | None]:
    """KS statistic and the Wasserstein-1 distance divided by the real range (both in [0, 1]).

    One pass over the merged ECDFs: KS is the largest gap, W1 the area between them.
    """
    finite = "x IS NOT NULL AND isfinite(x)"
    ks, area, spread, n_real, n_syn = scalars(
        con,
        f"""
        WITH v AS ({_both(real, synthetic, finite)}),
        c AS (SELECT x, count(*) FILTER (WHERE s = 0) AS a, count(*) FILTER (WHERE s = 1) AS b FROM v GROUP BY x),
        e AS (SELECT x, sum(a) OVER w / sum(a) OVER () AS fa, sum(b) OVER w / sum(b) OVER () AS fb,
                     lead(x) OVER (ORDER BY x) - x AS dx
              FROM c WINDOW w AS (ORDER BY x ROWS UNBOUNDED PRECEDING))
        SELECT max(abs(fa - fb)), sum(abs(fa - fb) * coalesce(dx, 0)),
               (SELECT max(x) - min(x) FROM v WHERE s = 0),
               (SELECT count(*) FROM v WHERE s = 0), (SELECT count(*) FROM v WHERE s = 1)
        FROM e
        """,
    )
    if not n_real or not n_syn:
        return None, None
    return float(ks), _normalised(float(area), float(spread or 0))


def _normalised(area: float, spread: float) -> float:
    """W1 over the real range, capped at 1; a constant real column allows no spread at all."""
    if spread > 0:
        return min(1.0, area / spread)
    return 0.0 if area == 0 else 1.0


def histogram(con, real: str, synthetic: str) -> dict:
    """Counts in BINS equal-width bins over the real range; synthetic values outside it
    land in the edge bins and are counted apart as ``outside``."""
    table = arrow(
        con,
        f"""
        WITH v AS ({_both(real, synthetic, "x IS NOT NULL AND isfinite(x)")}),
        r AS (SELECT min(x) AS lo, max(x) AS hi FROM v WHERE s = 0)
        SELECT s, CAST(least(greatest(coalesce(floor((x - lo) / nullif(hi - lo, 0) * {BINS}), 0), 0), {BINS - 1}) AS INTEGER) AS bin,
               count(*) AS n, count(*) FILTER (WHERE x < lo OR x > hi) AS outside, any_value(lo) AS lo, any_value(hi) AS hi
        FROM v, r GROUP BY ALL
        """,
    ).to_pydict()
    counts = np.zeros((2, BINS))
    np.add.at(counts, (table["s"], table["bin"]), table["n"])
    outside = sum(o for s, o in zip(table["s"], table["outside"]) if s == 1)
    lo, hi = (table["lo"][0], table["hi"][0]) if table["lo"] else (0.0, 0.0)
    return {"lo": lo, "hi": hi, "real": counts[0].tolist(), "synthetic": counts[1].tolist(), "outside": int(outside)}


def category_stats(con, real: str, synthetic: str) -> dict:
    """TVD, Jensen-Shannon distance (base 2), category coverage and the synthetic share of
    categories the real data never had, over non-NULL values; plus the top categories."""
    counts = f"""
        WITH v AS ({_both(real, synthetic, "x IS NOT NULL")}),
        c AS (SELECT x, count(*) FILTER (WHERE s = 0) AS a, count(*) FILTER (WHERE s = 1) AS b FROM v GROUP BY x),
        p AS (SELECT x, a, b, a / sum(a) OVER () AS pa, b / sum(b) OVER () AS pb FROM c)"""
    tvd, js, coverage, unseen, n_real, n_syn = scalars(
        con,
        f"""{counts}
        SELECT 0.5 * sum(abs(pa - pb)),
               sqrt(greatest(0, 0.5 * sum(CASE WHEN pa > 0 THEN pa * log2(2 * pa / (pa + pb)) ELSE 0 END)
                             + 0.5 * sum(CASE WHEN pb > 0 THEN pb * log2(2 * pb / (pa + pb)) ELSE 0 END))),
               count(*) FILTER (WHERE a > 0 AND b > 0) / nullif(count(*) FILTER (WHERE a > 0), 0),
               coalesce(sum(pb) FILTER (WHERE a = 0), 0), sum(a), sum(b)
        FROM p""",
    )
    top = arrow(con, f"{counts} SELECT x, a, b FROM p ORDER BY a DESC, b DESC, x LIMIT {TOP_CATEGORIES}").to_pydict()
    empty = not n_real or not n_syn
    return {
        "tvd": None if empty else float(tvd),
        "js": None if empty else float(js),
        "coverage": None if coverage is None else float(coverage),
        "unseen_share": float(unseen or 0),
        "top": {"labels": top["x"], "real": top["a"], "synthetic": top["b"]},
    }


def null_rates(con, real: str, synthetic: str) -> tuple[float, float]:
    return tuple(
        float(v or 0)
        for v in scalars(
            con,
            f"SELECT (SELECT avg(CAST(x IS NULL AS DOUBLE)) FROM ({real})), (SELECT avg(CAST(x IS NULL AS DOUBLE)) FROM ({synthetic}))",
        )
    )


def ranges(con, real: str, synthetic: str) -> tuple:
    """(real min, real max, synthetic min, synthetic max) over finite values."""
    finite = "WHERE isfinite(x)"
    return scalars(
        con,
        f"SELECT (SELECT min(x) FROM ({real}) {finite}), (SELECT max(x) FROM ({real}) {finite}), "
        f"(SELECT min(x) FROM ({synthetic}) {finite}), (SELECT max(x) FROM ({synthetic}) {finite})",
    )


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance in base 2 (0 = same, 1 = disjoint) between two count vectors."""
    p, q = p / max(p.sum(), 1e-300), q / max(q.sum(), 1e-300)
    m = (p + q) / 2
    return float(np.sqrt(max(0.0, (_kl(p, m) + _kl(q, m)) / 2)))


def _kl(p: np.ndarray, m: np.ndarray) -> float:
    mask = p > 0
    return float(np.sum(p[mask] * np.log2(p[mask] / m[mask])))
