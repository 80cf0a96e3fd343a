"""What the benchmarks print beside every timing: the CPU's model name, from /proc/cpuinfo."""

from __future__ import annotations

import os


def cpu_name(default: str = "unknown CPU") -> str:
    """The ``model name`` line of ``/proc/cpuinfo`` (``default`` where there is none)."""
    if not os.path.exists("/proc/cpuinfo"):
        return default
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        return next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), default)
