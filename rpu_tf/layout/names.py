"""Names read from run files are data, not paths: the naming rules and the containment check.

Every name that a run directory's files hold and that becomes part of a path (a stage of
``manifest.json``, ``--redo_from``'s value, a PBT member or generation number) is checked
against the layout's rules here before it is joined to a folder, and every folder that is
created or deleted from such a name is checked to lie inside the run directory
(:func:`inside`). A crafted ``manifest.json`` with a stage named ``../../victim`` is refused
with one line naming the file and the name; nothing outside the run is touched.
"""

from __future__ import annotations

import numbers
import os
import re
from typing import Any

#: Stage names of Algorithm 1 (rpu_tf.rpu.algorithm): the initial metaEpoch and leaf-runs' metaEpochs.
STAGE_NAME = re.compile(r"initial|leaf[1-9][0-9]*_meta[1-9][0-9]*")
#: What the final stage is called where a stage name is asked for (``--redo_from=final``).
FINAL_STAGE = "final"


class UnsafeNameError(ValueError):
    """A name read from a run file (or a flag) breaks the layout's naming rules, or a path
    built from one would leave the run directory."""


#: What to do about a run file holding a name the layout never writes.
DAMAGED = "the file is damaged or was altered: restore it from a copy, or start the run afresh with --overwrite"


def check_stage_name(name: Any, source: str, allow_final: bool = False, hint: str = DAMAGED) -> str:
    """``name`` if it is a stage name (``initial``, ``leaf<i>_meta<j>``; ``final`` too with
    ``allow_final``); else :class:`UnsafeNameError` naming ``source``, where the name was
    read (``RUN/manifest.json``, ``--redo_from``), and ``hint``, what to do."""
    if isinstance(name, str) and (STAGE_NAME.fullmatch(name) or (allow_final and name == FINAL_STAGE)):
        return name
    expected = "initial, leaf<i>_meta<j>" + (" or final" if allow_final else "")
    raise UnsafeNameError(f"{source}: {name!r} is not a stage name (expected {expected}); {hint}.")


def check_index(value: Any, what: str, source: str = "") -> int:
    """``value`` as a non-negative ``int`` (a member id, a generation number); else
    :class:`UnsafeNameError` naming ``what`` and ``source``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        where = f"{source}: " if source else ""
        raise UnsafeNameError(f"{where}{what} {value!r} is not a non-negative integer; {DAMAGED}.")
    return int(value)


def inside(root: str, path: str) -> str:
    """``path`` (absolute, symbolic links of its folders resolved) when it lies strictly inside
    the folder ``root``; else :class:`UnsafeNameError`. Call it on every path built from a
    name read from a run file before creating or deleting it."""
    base = os.path.realpath(root)
    parent = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    full = os.path.join(parent, os.path.basename(os.path.abspath(path)))  # the last part itself is not followed
    if os.path.commonpath([base, full]) != base or full == base:
        raise UnsafeNameError(f"{path} lies outside the run directory {root}; refusing to create or delete it.")
    return full
