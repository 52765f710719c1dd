"""engine = 'ray': one Ray task per shard, at most ``workers`` at a time.

Ray is imported only here, on use.  Without ``address`` (or RAY_ADDRESS) Ray starts
an embedded local cluster; a task whose worker dies is retried by Ray
(``max_retries``) and rewrites its shard from the same plan, so the output is the same.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from synthtab_db.errors import SynthError

from .executors import register_executor
from .options import ParquetOptions
from .plan import ParquetPlan
from .shards import Shard
from .worker import ShardReport, run_shard

MAX_RETRIES = 3
CANCEL_WAIT_S = 60  # how long a failed run waits for its cancelled shards to stop


def _ray():
    try:
        import ray  # noqa: PLC0415
    except ImportError:
        raise SynthError("engine = 'ray' needs Ray: pip install 'synthtab-db[ray]'") from None
    return ray


def _connect(ray, address: str | None) -> None:
    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}})


@dataclass(frozen=True)
class RayExecutor:
    name = "ray"
    options: ParquetOptions

    def run(self, plan: ParquetPlan, shards: list[Shard], staging: str) -> list[ShardReport]:
        ray = _ray()
        _connect(ray, self.options.address)
        task = ray.remote(num_cpus=1, num_gpus=self.options.gpus_per_shard, max_retries=MAX_RETRIES)(run_shard)
        workers = self.options.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        plan_ref = ray.put(plan)
        return _in_waves(ray, [lambda s=s: task.remote(plan_ref, s, staging) for s in shards], workers)


def _in_waves(ray, submits: list, workers: int) -> list[ShardReport]:
    """Keep at most ``workers`` tasks in flight; results come back in shard order."""
    pending, running, order = list(enumerate(submits)), {}, {}
    while pending or running:
        while pending and len(running) < workers:
            index, submit = pending.pop(0)
            ref = submit()
            running[ref], order[index] = index, ref
        done, _ = ray.wait(list(running), num_returns=1)
        running.pop(done[0])
        try:
            _raise_failure(ray, done[0])
        except SynthError:
            _stop(ray, list(running))
            raise
    return [ray.get(order[i]) for i in range(len(submits))]


def _stop(ray, refs: list) -> None:
    """Cancel the shards still running and wait for them: nothing may write into the
    staging folder once the failed run removes it."""
    for ref in refs:
        ray.cancel(ref, force=True)
    if refs:
        ray.wait(refs, num_returns=len(refs), timeout=CANCEL_WAIT_S)


def _raise_failure(ray, ref) -> None:
    try:
        ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        cause = err.cause
        message = str(cause) if isinstance(cause, SynthError) else f"a shard failed on Ray: {cause!r}"
        raise SynthError(message) from None
    except ray.exceptions.RayError as err:
        raise SynthError(f"a shard failed on Ray after {MAX_RETRIES} retries: {err}") from None


register_executor("ray")(RayExecutor)
