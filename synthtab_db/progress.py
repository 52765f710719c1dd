"""One progress interface for every long step: rows generated and training epochs.

The engine calls ``progress(table, done, total)`` per batch and ``progress.epoch(table,
info)`` per training epoch.  On a terminal that is a tqdm bar (rows/s and ETA); anywhere
else (a log file, the proxy, dbt) it is ``logging`` lines on the ``synthtab_db``
logger: one when a step starts and ends, and one at most every ``interval`` seconds in
between, with rows/s and the time left.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field

LOG = logging.getLogger("synthtab_db")


MEASURABLE = 0.05  # seconds: below this a rows/s figure is noise


@dataclass
class _Step:
    total: int
    started: float
    last_logged: float
    done: int = 0


@dataclass
class LogProgress:
    """Progress as log lines; ``interval`` seconds between lines inside one step."""

    interval: float = 5.0
    clock: object = time.monotonic
    steps: dict[str, _Step] = field(default_factory=dict)

    def __call__(self, table: str, done: int, total: int) -> None:
        now = self.clock()
        step = self.steps.get(table)
        if step is None:
            step = self.steps[table] = _Step(total, now, now)
            LOG.info("%s: generating %s rows", table, f"{total:,}")
        step.done = done
        if done >= total:
            self._finished(table, step, now)
        elif now - step.last_logged >= self.interval:
            step.last_logged = now
            LOG.info("%s: %s of %s rows, %s rows/s, about %.0f s left", table, f"{done:,}", f"{total:,}",
                     f"{_rate(step, now):,.0f}", _left(step, now))

    def _finished(self, table: str, step: _Step, now: float) -> None:
        """A step whose rows all came in its first report has no measured rate: none is made up."""
        del self.steps[table]
        if now - step.started < MEASURABLE:
            LOG.info("%s: %s rows written", table, f"{step.done:,}")
            return
        LOG.info("%s: %s rows in %.1f s (%s rows/s)", table, f"{step.done:,}", now - step.started,
                 f"{_rate(step, now):,.0f}")

    def epoch(self, table: str, info: dict) -> None:
        LOG.info("%s: %s", table, epoch_line(info))

    def close(self) -> None:
        self.steps.clear()


class BarProgress:
    """A tqdm bar per table (rows/s and ETA come with tqdm); epoch lines above the bars."""

    def __init__(self) -> None:
        from tqdm import tqdm  # noqa: PLC0415 (only where a terminal shows it)

        self.tqdm = tqdm
        self.bars: dict = {}

    def __call__(self, table: str, done: int, total: int) -> None:
        bar = self.bars.get(table)
        if bar is None:
            bar = self.bars[table] = self.tqdm(total=total, desc=table, unit="rows", unit_scale=True, leave=False)
        bar.update(done - bar.n)

    def epoch(self, table: str, info: dict) -> None:
        self.tqdm.write(f"{table}: {epoch_line(info)}", file=sys.stderr)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def default_progress(stream=None):
    """A bar where a person watches (stderr is a terminal), log lines everywhere else."""
    stream = stream or sys.stderr
    return BarProgress() if stream.isatty() else LogProgress()


def epoch_line(info: dict) -> str:
    loss = info.get("val_loss", info.get("loss"))
    shown = f"{loss:.4f}" if isinstance(loss, (int, float)) else "-"
    return f"epoch {info.get('epoch')}  loss {shown}  {info.get('seconds', 0):.1f} s"


def _rate(step: _Step, now: float) -> float:
    return step.done / max(now - step.started, 1e-9)


def _left(step: _Step, now: float) -> float:
    rate = _rate(step, now)
    return (step.total - step.done) / rate if rate else float("inf")
