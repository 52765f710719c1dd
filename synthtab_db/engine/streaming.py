"""The next batch is sampled while the current one is checked and appended.

Sampling (numpy) and checking/appending (DuckDB) both release the GIL, so on two
cores they overlap; the batches and their order are exactly those of a plain loop,
so the same seed gives the same rows.  Only for batches whose making reads nothing
from the database: a DuckDB connection must not serve two threads at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")


def made_ahead(make: Callable[[int], T], count: int, ahead: bool = True) -> Iterator[T]:
    """``make(0)``, ``make(1)``, … ``make(count - 1)``, each next one made on a worker thread
    while the caller works on the current one (in order; nothing is made twice)."""
    if not ahead:
        yield from (make(i) for i in range(count))
        return
    with ThreadPoolExecutor(1, thread_name_prefix="synthtab-sample") as pool:
        future = pool.submit(make, 0) if count else None
        for i in range(count):
            item = future.result()
            future = pool.submit(make, i + 1) if i + 1 < count else None
            yield item
