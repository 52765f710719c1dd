"""numpy's BLAS keeps to one thread while batches are sampled beside DuckDB's insert.

OpenBLAS starts a worker per core for every large product (a copula batch's
``factor @ noise``) and its workers spin after each one: measured on 2 cores,
a copula batch then costs half again the CPU time of the same work on one thread,
time taken from the insert running beside it.  The sampler already runs two
blocks at once and DuckDB the rest, so one BLAS thread loses nothing.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from threadpoolctl import threadpool_limits


def one_blas_thread() -> AbstractContextManager:
    """Every BLAS loaded now (numpy's, and scipy's once something imported it) limited to one
    thread inside the block, restored after it.  The libraries are looked up on each call
    (about 2 ms): one loaded after a first lookup would be missed."""
    return threadpool_limits(limits=1, user_api="blas")
