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

    def epoch(self, table: str, info: dict) -> None:
        """One line per training epoch: epoch, loss and time."""
        if not self.enabled:
            return
        loss = info.get("val_loss", info.get("loss"))
        shown = f"{loss:.4f}" if isinstance(loss, (int, float)) else "-"
        tqdm.write(f"{table}: epoch {info.get('epoch')}  loss {shown}  {info.get('seconds', 0):.1f} s", file=sys.stderr)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
