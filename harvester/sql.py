"""Quoting for the SQL this package writes for DuckDB (names and paths come from files and portals)."""
from __future__ import annotations


def ident(name: str) -> str:
    """A quoted identifier (inner double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A quoted string literal."""
    return "'" + text.replace("'", "''") + "'"
