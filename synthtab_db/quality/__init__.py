"""EVALUATE SYNTHETIC: fidelity, utility and privacy-risk of synthetic tables.

Full-table statistics run as SQL in DuckDB (distributions, KS, TVD, null rates,
ranges, exact copies, FK cardinalities); parts that need rows side by side
(pairs, models, distances) run in numpy / scikit-learn on bounded samples.
Needs the ``quality`` extra (scikit-learn, matplotlib).
"""

from synthtab_db.quality.html import write_html_report
from synthtab_db.quality.options import EvaluateOptions
from synthtab_db.quality.report import MetricRow, Report
from synthtab_db.quality.run import evaluate_schema, evaluate_table, fidelity_report, run_evaluate

__all__ = [
    "EvaluateOptions",
    "MetricRow",
    "Report",
    "evaluate_schema",
    "evaluate_table",
    "fidelity_report",
    "run_evaluate",
    "write_html_report",
]
