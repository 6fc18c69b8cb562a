"""Where the real-file corpus is, and the check that it is the corpus the tests were written for.

The 30 files published by the portals (tests/realfiles_manifest.json: names, sha256, public source) are
not in this repository. CI puts `../shared/real-files` beside the clone; `HARVESTER_REAL_FILES` points
elsewhere. A missing corpus or a file whose bytes differ is one clear error, never a silent skip: the
tests cannot download the files themselves, since they run without internet (only 127.0.0.0/8).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANIFEST = Path(__file__).resolve().parent / "realfiles_manifest.json"
ENV = "HARVESTER_REAL_FILES"


class CorpusError(RuntimeError):
    """The real-file corpus is missing or not the one in the manifest (one line, naming what is wrong)."""


@dataclass(frozen=True)
class RealFile:
    name: str
    format: str
    sha256: str
    encoding: str
    source_url: str
    path: Path


def manifest() -> list[dict[str, object]]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))["files"]


def names() -> list[str]:
    """The corpus's file names, in manifest order (test ids)."""
    return [str(entry["file"]) for entry in manifest()]


def corpus_dir(env: dict[str, str] | None = None) -> Path:
    """`$HARVESTER_REAL_FILES`, else `../shared/real-files` from the repository's root."""
    env = os.environ if env is None else env
    return Path(env[ENV]) if env.get(ENV) else REPO.parent / "shared" / "real-files"


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def load_corpus(folder: Path | None = None) -> dict[str, RealFile]:
    """Every manifest file, found in `folder` (default: `corpus_dir()`) with the sha256 the manifest says;
    raises CorpusError otherwise."""
    folder = folder or corpus_dir()
    entries = manifest()
    if not folder.is_dir():
        raise CorpusError(f"real-file corpus not found at {folder}: put the {len(entries)} files of "
                          f"{MANIFEST.name} there or set {ENV} (they cannot be downloaded from their public "
                          "sources here: the tests run without internet)")
    files: dict[str, RealFile] = {}
    missing, changed = [], []
    for entry in entries:
        name = str(entry["file"])
        path = folder / name
        if not path.is_file():
            missing.append(name)
            continue
        if _sha256(path) != entry["sha256"]:
            changed.append(name)
            continue
        source = entry["source"]
        assert isinstance(source, dict)
        files[name] = RealFile(name, str(entry["format"]), str(entry["sha256"]), str(entry["encoding"]),
                               str(source["url"]), path)
    if missing or changed:
        problems = ([f"{len(missing)} missing ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})"]
                    if missing else []) + \
                   ([f"{len(changed)} with a sha256 other than the manifest's ({', '.join(changed[:3])}"
                     f"{', ...' if len(changed) > 3 else ''})"] if changed else [])
        raise CorpusError(f"real-file corpus at {folder}: {'; '.join(problems)}; restore the files byte for byte "
                          f"from the sources in {MANIFEST.name} (no internet here to download them)")
    return files
