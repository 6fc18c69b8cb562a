"""Where outputs live under the data folder (`datasets/` by default)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harvester.errors import PathEscape


def inside(folder: Path, path: Path) -> Path:
    """`path` if, once resolved (symlinks and `..` included), it stays inside `folder`; else PathEscape."""
    base = folder.resolve()
    resolved = path.resolve()
    if resolved != base and base not in resolved.parents:
        raise PathEscape(f"{path}: leaves {folder}")
    return path


@dataclass(frozen=True)
class DataPaths:
    """Every output path derives from one root folder."""

    root: Path
    database_override: Path | None = None

    @property
    def database(self) -> Path:
        return self.database_override or self.root / "catalog.duckdb"

    @property
    def http_cache(self) -> Path:
        return self.root / "cache" / "http-api.sqlite"

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def packs(self) -> Path:
        return self.root / "packs"

    @property
    def site(self) -> Path:
        return self.root / "site"

    def under_root(self, relative: str | Path) -> Path:
        """A path the store recorded (relative to the data folder), refused if it leads outside it."""
        return inside(self.root, self.root / relative)

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.database.parent.mkdir(parents=True, exist_ok=True)
        self.http_cache.parent.mkdir(parents=True, exist_ok=True)
