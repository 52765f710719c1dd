"""Schema constraints compiled to SQL predicates that find violating staged rows."""

from synthtab_db.checks.compile import CheckContext, CompiledCheck, compile_checks, condition_check

__all__ = ["CheckContext", "CompiledCheck", "compile_checks", "condition_check"]
