"""Where torch models run: 'auto' takes CUDA when there is one, 'cuda' insists."""

from __future__ import annotations

from synthtab_db.errors import SynthError


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def refuse_unavailable(device: str) -> None:
    """The up-front check of a statement: only 'cuda' can be refused, so only it imports torch
    (a copula GENERATE must not pay torch's import)."""
    if device == "cuda":
        resolve_device(device)


def resolve_device(device: str) -> str:
    """'cpu' or 'cuda'; a request for CUDA where there is none is refused, not downgraded."""
    if device == "cuda" and not cuda_available():
        raise SynthError("option device = 'cuda' but no CUDA GPU is available here; use device = 'cpu' or 'auto'")
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    return device
