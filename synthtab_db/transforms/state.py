"""Transform state as plain numpy arrays, so models can persist it with ``np.savez``.

Arrow arrays (category labels of any type) travel as Arrow IPC bytes inside a
uint8 array: typed, exact, and loadable with ``allow_pickle=False``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def arrow_to_numpy(values: pa.Array) -> np.ndarray:
    """An Arrow array as the bytes of a one-column IPC stream."""
    batch = pa.record_batch([values], names=["v"])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return np.frombuffer(sink.getvalue(), dtype=np.uint8).copy()


def arrow_from_numpy(raw: np.ndarray) -> pa.Array:
    """The inverse of ``arrow_to_numpy``."""
    reader = pa.ipc.open_stream(pa.py_buffer(np.ascontiguousarray(raw, dtype=np.uint8).tobytes()))
    return reader.read_all().column(0).combine_chunks()
