"""numpy's BLAS keeps to one thread while batches are sampled beside DuckDB's insert.

OpenBLAS starts a worker per core for every large product (a copula batch's
``factor @ noise``) and its workers spin after each one: measured on 2 cores,
a copula batch then costs half again the CPU time of the same work on one thread,
time taken from the insert running beside it.  The sampler already runs two
blocks at once and DuckDB the rest, so one BLAS thread loses nothing.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from threadpoolctl import threadpool_limits

_lock = threading.Lock()
_holders = 0
_limits = None  # the active threadpool_limits, which knows the settings to give back


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Every BLAS loaded now (numpy's, and scipy's once something imported it) limited to one
    thread inside the block, restored after it.  The libraries are looked up afresh by the
    first holder (about 2 ms): one loaded after an earlier lookup would be missed.  Statements
    running at once (the proxy's clients) share one limit, and the last to finish gives the
    original settings back: nested limits would each restore what the other had set."""
    global _holders, _limits
    with _lock:
        if _holders == 0:
            _limits = threadpool_limits(limits=1, user_api="blas")
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                _limits.restore_original_limits()
                _limits = None
