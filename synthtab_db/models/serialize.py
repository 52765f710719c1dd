"""What every model's saved header needs: JSON for option values from SQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np


def json_default(value: Any) -> Any:
    """Option values from SQL arrive as Decimal; numpy scalars come from statistics;
    anything else exotic is kept as text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
