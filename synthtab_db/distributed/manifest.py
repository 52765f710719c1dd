"""The commit of a Parquet output: workers write into a staging folder; the manifest,
written last (temp file + rename), is what makes the output exist.

Layout of ``dir``: ``<table>/part-<shard>.parquet`` and ``_manifest.json``.  A run that
fails or is killed leaves no manifest; its staging folder (``_staging-<run>``), and
folders a half-done commit moved (listed in ``_committing.json``), are removed by the
next run.  Readers read only the files a manifest lists.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

from synthtab_db.errors import SynthError

MANIFEST = "_manifest.json"
JOURNAL = "_committing.json"
STAGING = "_staging-"
FORMAT = 1


def recover(root: Path) -> None:
    """Clean up after a run that died: its staging, and a commit cut short."""
    for stale in root.glob(f"{STAGING}*"):
        shutil.rmtree(stale, ignore_errors=True)
    journal = root / JOURNAL
    if journal.exists():
        if not (root / MANIFEST).exists():
            for folder in json.loads(journal.read_text())["folders"]:
                shutil.rmtree(root / folder, ignore_errors=True)
        journal.unlink()


def prepare(root: Path, folders: list[str], replace: bool) -> Path:
    """A fresh staging folder, after refusing to overwrite what the user did not ask to."""
    root.mkdir(parents=True, exist_ok=True)
    recover(root)
    if (root / MANIFEST).exists() and not replace:
        raise SynthError(f"{root} already holds a committed output ({MANIFEST}); use WITH (replace = true)")
    ours = set(read(root)["tables"]) if (root / MANIFEST).exists() else set()
    foreign = [f for f in folders if (root / f).exists() and f not in ours]
    if foreign:
        raise SynthError(f"{root / foreign[0]} exists and is not part of a committed output; "
                         "choose another folder or remove it")
    staging = root / f"{STAGING}{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    return staging


def commit(root: Path, staging: Path, manifest: dict) -> None:
    """Replace any old output, move the staged folders in, write the manifest last."""
    old = root / MANIFEST
    if old.exists():
        previous = read(root)
        old.unlink()  # from here on the old output is gone for readers
        for folder in previous["tables"]:
            shutil.rmtree(root / folder, ignore_errors=True)
    folders = list(manifest["tables"])
    _write_atomic(root / JOURNAL, {"folders": folders})
    for folder in folders:
        os.replace(staging / folder, root / folder)
    _write_atomic(old, manifest)
    (root / JOURNAL).unlink()
    shutil.rmtree(staging, ignore_errors=True)


def abort(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


def _write_atomic(path: Path, value: dict) -> None:
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "w") as out:
        json.dump(value, out, indent=1, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)


def read(root: Path | str) -> dict:
    path = Path(root) / MANIFEST
    if not path.exists():
        raise SynthError(f"no {MANIFEST} in {root}: nothing was committed there (a failed run leaves none)")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise SynthError(f"{path} has format {manifest.get('format')!r}; this version reads format {FORMAT}")
    return manifest
