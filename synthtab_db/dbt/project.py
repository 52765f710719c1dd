"""Point a dbt project at the synthtab dbt package shipped inside this installation.

The package lives in the installed wheel (``synthtab_db/dbt/package``), so its path
depends on where pip put it: ``synthtab-db dbt init`` writes that path into the
project's packages.yml as a ``local:`` entry (offline, no hub or git), replacing an
older synthtab entry and keeping everything else in the file as it was.
"""

from __future__ import annotations

import re
from pathlib import Path

from synthtab_db.dbt import PACKAGE_DIR
from synthtab_db.errors import SynthError

PLUGIN_SNIPPET = """      plugins:
        - module: synthtab_db.dbt"""

_OUR_ENTRY = re.compile(r"^(?P<lead>[ \t]*-?[ \t]*local:[ \t]*)(?P<path>\S*synthtab_db/dbt/package/?)[ \t]*$", re.M)
_PACKAGES = re.compile(r"^packages:[ \t]*(\[[ \t]*\])?[ \t]*$", re.MULTILINE)


def packages_entry(package_dir: Path = PACKAGE_DIR) -> str:
    return f"  - local: {package_dir.as_posix()}\n"


def updated_packages_yml(text: str | None, package_dir: Path = PACKAGE_DIR) -> str:
    """packages.yml with exactly one ``local:`` entry for the synthtab package."""
    if not text or not text.strip():
        return "packages:\n" + packages_entry(package_dir)
    if _OUR_ENTRY.search(text):
        return _OUR_ENTRY.sub(lambda m: m.group("lead") + package_dir.as_posix(), text, count=1)
    match = _PACKAGES.search(text)
    if match is None:
        raise SynthError("packages.yml has no top-level 'packages:' list; add `packages:` and run again")
    return text[: match.start()] + "packages:\n" + packages_entry(package_dir) + text[match.end() + 1 :]


def init_project(project_dir: Path, package_dir: Path = PACKAGE_DIR) -> Path:
    """Write (or update) ``project_dir/packages.yml``; returns its path."""
    if not (project_dir / "dbt_project.yml").is_file():
        raise SynthError(f"no dbt_project.yml in {project_dir}; run inside a dbt project or pass --project-dir")
    if not (package_dir / "dbt_project.yml").is_file():
        raise SynthError(f"the synthtab dbt package is missing from this installation ({package_dir})")
    path = project_dir / "packages.yml"
    text = path.read_text() if path.exists() else None
    path.write_text(updated_packages_yml(text, package_dir))
    return path


def profile_has_plugin(project_dir: Path) -> bool | None:
    """Whether a profiles.yml beside the project loads our plugin (None: no such file)."""
    profiles = project_dir / "profiles.yml"
    return "synthtab_db.dbt" in profiles.read_text() if profiles.exists() else None
