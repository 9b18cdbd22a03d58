"""JSON details shared by every reader (run files, JSON Lines, log importers)."""

from __future__ import annotations


def json_constant(name: str) -> float:
    """``parse_constant`` for ``json.loads``: NaN/Infinity/-Infinity become floats."""
    # json accepts NaN/Infinity/-Infinity; they are legitimate evidence in curves.
    return float(name.replace("Infinity", "inf"))
