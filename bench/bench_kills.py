"""Kill trials: `harvester nightly` killed with SIGKILL at random points, 20 times, then one nightly that
must finish (issue 15, "Done when").

Run:  python bench/bench_kills.py [--trials 20] [--seed 15]

Starts the sandbox in its own process and writes the demo's catalogs.toml (eight catalogs, the bundled
theme profiles). Every fifth trial starts from no store and is killed as the store file is born (store
creation); the others kill a nightly at a random delay between 0.05 s and the length of a full run, so
kills land in every stage. After each kill the data folder must be sound: the store opens and answers,
every file it records as held exists with the recorded sha256, every published pack and the published
site are whole, and no half-written site or pack build is published. At the end one nightly must exit
0 (or 3 for the demo's known partial catalogs) and leave the same soundness. Results: a table on stdout
and JSON in bench/results/.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import peak  # noqa: E402
from bench_harvest import save_results, start_sandbox  # noqa: E402
from harvester.demo import write_demo_config  # noqa: E402
from harvester.store import Store  # noqa: E402


def sound(root: Path) -> list[str]:
    """What is wrong with a data folder after a kill (nothing: an empty list)."""
    problems: list[str] = []
    database = root / "catalog.duckdb"
    if database.exists():
        try:
            with Store(database, read_only=True) as store:
                rows = store.query("SELECT resource_id, path, sha256 FROM resource_files "
                                   "WHERE status IN ('ok', 'not_modified') AND path IS NOT NULL")
                store.query("SELECT count(*) FROM datasets")
        except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
            return [f"store unreadable: {type(exc).__name__}: {exc}"]
        for row in rows:
            path = root / row["path"]
            if not path.is_file():
                problems.append(f"{row['path']}: recorded but missing")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != row["sha256"]:
                problems.append(f"{row['path']}: content is not the recorded sha256")
    for latest in (root / "packs").glob("*/latest"):
        folder = latest.resolve()
        sums = folder / "SHA256SUMS"
        if not sums.is_file():
            problems.append(f"{latest}: no SHA256SUMS")
            continue
        for line in sums.read_text().splitlines():
            digest, name = line.split("  ", 1)
            target = folder / name
            if not target.is_file() or hashlib.sha256(target.read_bytes()).hexdigest() != digest:
                problems.append(f"{latest}/{name}: not whole")
    site = root / "site"
    if site.is_symlink():
        manifest = site.resolve() / "MANIFEST"
        if not manifest.is_file():
            problems.append("site: published without a MANIFEST")
        else:
            missing = [line.split("  ", 1)[1] for line in manifest.read_text().splitlines()
                       if not (site.resolve() / line.split("  ", 1)[1]).is_file()]
            problems += [f"site/{m}: missing" for m in missing[:5]]
    return problems


def nightly_argv(config: Path) -> list[str]:
    return [sys.executable, "-m", "harvester", "--config", str(config), "--quiet", "nightly"]


def nightly(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(nightly_argv(config), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-kills-"))
    sandbox, base = start_sandbox(0)
    trials = []
    try:
        config = work / "catalogs.toml"

        def api_url(site: str) -> str:
            return f"{base}/{site}/?q=api/3/action/" if site == "mardelplata" else f"{base}/{site}/api/3/action/"
        write_demo_config(config, api_url, work / "data", 0)
        root = work / "data"
        started = time.perf_counter()
        nightly(config).wait()  # one full run, to know how long a run takes
        full = time.perf_counter() - started
        started = time.perf_counter()
        nightly(config).wait()  # and one with nothing changed upstream
        quick = time.perf_counter() - started
        trial = 0
        while sum(t["killed"] for t in trials) < args.trials and trial < 3 * args.trials:
            creation = trial % 5 == 0
            if creation:
                for leftover in root.glob("catalog.duckdb*"):
                    leftover.unlink()
            child = nightly(config)
            begun = time.perf_counter()
            if creation:
                while not (root / "catalog.duckdb").exists() and child.poll() is None:
                    time.sleep(0.0005)
                delay = time.perf_counter() - begun
            else:  # after a store creation the run does the whole work again: kill it anywhere in it
                delay = rng.uniform(0.05, 0.95 * (full if trial % 5 == 1 else quick))
                time.sleep(delay)
            landed = child.poll() is None
            if landed:
                os.kill(child.pid, signal.SIGKILL)
            child.wait()
            problems = sound(root)
            trials.append({"trial": trial, "store_creation": creation, "delay_s": round(delay, 3),
                           "killed": landed, "problems": problems})
            print(f"trial {trial:2d}: {'store creation' if creation else 'random point'} at {delay:.2f}s, "
                  f"{'killed' if landed else 'had finished'}, {'sound' if not problems else problems}", flush=True)
            trial += 1
        last = peak.run(nightly_argv(config))
        final = {"exit": last.returncode, "seconds": round(last.seconds, 2),
                 "peak_mb": last.peak_mb, "problems": sound(root),
                 "summaries": len(list((root / "runs").glob("*.json")))}
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    killed = sum(t["killed"] for t in trials)
    clean = sum(not t["problems"] for t in trials)
    print(f"\nfull run {full:.1f}s, unchanged run {quick:.1f}s")
    print(f"{len(trials)} trials, {killed} kills landed ({sum(t['store_creation'] and t['killed'] for t in trials)} "
          f"during store creation), {clean} left a sound data folder; full run {full:.1f}s")
    print(f"final nightly: exit {final['exit']}, {final['seconds']}s, peak {final['peak_mb']} MB, "
          f"{'sound' if not final['problems'] else final['problems']}")
    save_results("kills", {"full_run_s": round(full, 2), "unchanged_run_s": round(quick, 2), "trials": trials,
                           "final": final})
    shutil.rmtree(work, ignore_errors=True)
    if clean != len(trials) or final["problems"] or final["exit"] not in (0, 3):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
