"""Use synthtab_db from dbt: `synthtab-db dbt init` adds the synthtab dbt package, shipped
inside this installation, to the project's packages.yml (a `local:` entry, works offline)."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "dbt"
HELP = "set up a dbt project for synthetic models (dbt init)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="dbt_action", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init", help="write the synthtab package into packages.yml", description=__doc__
    )
    init.add_argument("--project-dir", default=".", help="the dbt project (default: the current directory)")


def run(args: argparse.Namespace) -> int:
    from synthtab_db.dbt.project import PLUGIN_SNIPPET, init_project, profile_has_plugin

    project = Path(args.project_dir)
    path = init_project(project)
    print(f"wrote {path}: the synthtab dbt package is a local package; now run `dbt deps`")
    if not profile_has_plugin(project):
        print("load the plugin in your profiles.yml output (type: duckdb):")
        print(PLUGIN_SNIPPET)
    return 0
