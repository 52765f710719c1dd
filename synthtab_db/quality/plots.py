"""Report figures as inline base64 PNG, drawn from what the metric rows keep in their
detail, so a stored report can be redrawn. Uses matplotlib's object API with the
Agg canvas: no pyplot global state, no display, no network."""

from __future__ import annotations

import base64
import io
from datetime import datetime, timezone

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

REAL, SYNTHETIC, HOLDOUT = "#1f77b4", "#ff7f0e", "#2ca02c"


def _figure(width: float, height: float, columns: int = 1) -> tuple[Figure, list]:
    fig = Figure(figsize=(width, height), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, columns, i + 1) for i in range(columns)]


def to_data_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _shares(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    return counts / max(counts.sum(), 1.0)


def _date_ticks(ax, seconds_per_unit: float = 1.0) -> None:
    """Epoch-second axis labelled as dates (a temporal column is binned as epoch seconds)."""
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _: datetime.fromtimestamp(x * seconds_per_unit, tz=timezone.utc).strftime("%Y-%m-%d")))
    ax.tick_params(axis="x", labelrotation=30)


def histogram(column: str, plot: dict, temporal: bool = False) -> str:
    """Real vs synthetic share per bin over the real range (dates on a temporal column's axis)."""
    fig, (ax,) = _figure(4.2, 2.6)
    if temporal:
        _date_ticks(ax)
    edges = np.linspace(plot["lo"], plot["hi"] if plot["hi"] > plot["lo"] else plot["lo"] + 1, len(plot["real"]) + 1)
    ax.stairs(_shares(plot["real"]), edges, fill=True, alpha=0.45, color=REAL, label="real")
    ax.stairs(_shares(plot["synthetic"]), edges, color=SYNTHETIC, linewidth=1.8, label="synthetic")
    ax.set_title(column, fontsize=10)
    ax.set_ylabel("share", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)
    return to_data_uri(fig)


def categories(column: str, plot: dict, temporal: bool = False) -> str:
    """Top real categories, real vs synthetic share, as grouped horizontal bars."""
    labels = [str(label)[:24] for label in plot["labels"]][::-1]
    fig, (ax,) = _figure(4.2, max(1.8, 0.22 * len(labels) + 0.9))
    y = np.arange(len(labels))
    total_real, total_syn = max(sum(plot["real"]), 1), max(sum(plot["synthetic"]), 1)
    ax.barh(y + 0.2, np.array(plot["real"][::-1]) / total_real, 0.4, color=REAL, label="real")
    ax.barh(y - 0.2, np.array(plot["synthetic"][::-1]) / total_syn, 0.4, color=SYNTHETIC, label="synthetic")
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_title(f"{column} (top categories)", fontsize=10)
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=7)
    return to_data_uri(fig)


DISTRIBUTION_PLOTS = {"histogram": histogram, "categories": categories}


#: a heatmap shows at most this many columns (those with the largest gaps): 50+ labels are unreadable
HEATMAP_COLUMNS = 30


def heatmaps(columns: list[str], real, synthetic) -> str:
    """Association matrices side by side, and their absolute difference."""
    real, synthetic = np.asarray(real), np.asarray(synthetic)
    if len(columns) > HEATMAP_COLUMNS:
        keep = np.sort(np.argsort(-np.nanmax(np.abs(real - synthetic), axis=1))[:HEATMAP_COLUMNS])
        columns, real, synthetic = [columns[i] for i in keep], real[np.ix_(keep, keep)], synthetic[np.ix_(keep, keep)]
    size = 3.2 + 0.18 * len(columns)
    fig, axes = _figure(3 * size, size, columns=3)
    panels = (
        ("real", real, "coolwarm", -1),
        ("synthetic", synthetic, "coolwarm", -1),
        ("|difference|", np.abs(real - synthetic), "Reds", 0),
    )
    for ax, (title, matrix, cmap, low) in zip(axes, panels):
        image = ax.imshow(matrix, cmap=cmap, vmin=low, vmax=1)
        ax.set_title(title, fontsize=11)
        ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7)
        ax.set_yticks(range(len(columns)), columns, fontsize=7)
    fig.colorbar(image, ax=list(axes), shrink=0.7)
    return to_data_uri(fig)


def dcr_histogram(plot: dict) -> str:
    """Distance from each synthetic row to its closest training (and holdout) row."""
    fig, (ax,) = _figure(6, 2.8)
    edges = np.asarray(plot["edges"])
    ax.stairs(plot["train"], edges, fill=True, alpha=0.5, color=REAL, label="to training rows")
    if "holdout" in plot:
        ax.stairs(plot["holdout"], edges, color=HOLDOUT, linewidth=1.8, label="to holdout rows")
    ax.set_xlabel("distance to closest record", fontsize=8)
    ax.set_ylabel("synthetic rows", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=8)
    return to_data_uri(fig)
