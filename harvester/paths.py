"""Where outputs live under the data folder (`datasets/` by default)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harvester.errors import DataFolderError, PathEscape
from harvester.i18n import N_


def inside(folder: Path, path: Path) -> Path:
    """`path` if, once resolved (symlinks and `..` included), it stays inside `folder`; else PathEscape."""
    base = folder.resolve()
    resolved = path.resolve()
    if resolved != base and base not in resolved.parents:
        raise PathEscape(N_("%(path)s: leaves %(folder)s"), path=path, folder=folder)
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
    def read_copy(self) -> Path:
        """The store's published read copy (see `read_copy_of`)."""
        return read_copy_of(self.database)

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
        """The published site: a symlink to one build under `site_builds`."""
        return self.root / "site"

    @property
    def site_builds(self) -> Path:
        """Where the site is built and its published builds are kept (`.site/<time>-<hash>`)."""
        return self.root / ".site"

    @property
    def runs(self) -> Path:
        """The nightly run summaries (`runs/<start>.json`)."""
        return self.root / "runs"

    @property
    def nightly_lock(self) -> Path:
        """The lock a nightly run holds while it runs."""
        return self.root / ".nightly.lock"

    def under_root(self, relative: str | Path) -> Path:
        """A path the store recorded (relative to the data folder), refused if it leads outside it."""
        return inside(self.root, self.root / relative)

    def ensure(self) -> None:
        """Create the folders outputs go to; a one-line error when one cannot be a folder."""
        for folder in (self.root, self.database.parent, self.http_cache.parent):
            make_folder(folder)


def read_copy_of(database: Path) -> Path:
    """Where a writer publishes the store's read copy: `cache/<stem>.read.duckdb` beside the store
    (`datasets/cache/catalog.read.duckdb`). Readers open it while a writer holds the store; it can be
    deleted at any time (the next writer to close the store publishes it again)."""
    return database.parent / "cache" / f"{database.stem}.read.duckdb"


def make_folder(folder: Path) -> Path:
    """`folder`, created if missing; DataFolderError (one line, naming it) when that is impossible."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DataFolderError(N_("%(folder)s: not a folder (a file has that name)"), folder=folder) from None
    except OSError as exc:
        raise DataFolderError(N_("%(folder)s: cannot create the folder: %(reason)s"), folder=folder,
                              reason=exc.strerror) from None
    return folder
