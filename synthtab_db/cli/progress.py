"""A tqdm bar per target table, fed by the engine's progress callback."""

from __future__ import annotations

import sys

from tqdm import tqdm


class ProgressBars:
    def __init__(self, enabled: bool = True):
        self.enabled = enabled and sys.stderr.isatty()
        self.bars: dict[str, tqdm] = {}

    def __call__(self, table: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        bar = self.bars.get(table)
        if bar is None:
            bar = self.bars[table] = tqdm(total=total, desc=table, unit="rows", leave=False)
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
