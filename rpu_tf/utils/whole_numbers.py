"""Integer settings are integers: ``model.batch_size = 8.5`` is refused, never truncated to 8."""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional


def whole_number(value: Any, name: str, minimum: Optional[int] = None, why: str = "") -> int:
    """``value`` as an ``int`` when it is a whole number (an ``int``, a numpy integer, or a
    float without fraction such as ``64.``) of at least ``minimum``; else ``ValueError``
    naming the setting ``name`` (``model.batch_size``), the value given and ``why`` (what
    the setting is, in parentheses). ``int(8.5)`` would train with 8 while the run records 8.5."""
    about = f" ({why})" if why else ""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
            or value != int(value)):
        raise ValueError(f"{name} must be a whole number{about}, got {value!r}; give an integer.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}{about}, got {value!r}.")
    return int(value)
