"""Harvest benchmark: this project against ckanapi's CLI on the sandbox's synthetic catalog.

Run:  python bench/bench_harvest.py [--datasets 50000] [--skip-dump]

Starts `python -m harvester.sandbox --synthetic N` in its own process (so the server does not share a
core's GIL with the client being measured), then runs each client as a child process and reads its
wall time and own peak memory (bench/peak.py) and the number of API requests the sandbox served:

1. `harvester harvest synthetic` into a fresh store (full harvest)
2. `ckanapi search datasets` (pages package_search, rows=1000, prints JSON lines)
3. `ckanapi dump datasets --all` (package_list, then package_show for each dataset)
4. `harvester harvest synthetic` again, with nothing changed upstream (incremental)

Everything talks to 127.0.0.1 only. Results: a table on stdout and JSON in bench/results/.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import peak  # bench/ is the script's own folder

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def start_sandbox(datasets: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "harvester.sandbox", "--port", "0", "--synthetic", str(datasets)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    if not first.startswith("sandbox listening on "):
        proc.kill()
        raise SystemExit(f"sandbox did not start: {first!r}")
    # Drain the per-site lines in the background so the pipe never fills.
    subprocess.Popen(["cat"], stdin=proc.stdout, stdout=subprocess.DEVNULL)
    return proc, first.rsplit(" ", 1)[1]


def served(base: str) -> int:
    with urllib.request.urlopen(f"{base}/_sandbox/requests?site=synthetic", timeout=30) as answer:
        return int(json.load(answer)["count"])


def warm_up(base: str, datasets: int) -> None:
    """One pass over every page, so no client pays for the server's cold JSON cache."""
    for start in range(0, datasets + 1, 1000):
        url = (f"{base}/synthetic/api/3/action/package_search?rows=1000&start={start}"
               "&sort=metadata_modified%20asc,id%20asc")
        with urllib.request.urlopen(url, timeout=120) as answer:
            answer.read()


def run_child(name: str, argv: list[str], stdout_path: str | os.PathLike[str] = os.devnull,
              cwd: str | os.PathLike[str] | None = None) -> peak.Measured:
    """Run one client as a child process: its wall time, CPU time and own peak memory (bench/peak.py).
    A client that fails stops the benchmark with its stderr's tail."""
    with open(stdout_path, "wb") as sink:
        # ckanapi's dump starts its workers as `ckanapi` from PATH.
        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        measured = peak.run(argv, stdout=sink, env=env, cwd=cwd)
    if measured.returncode != 0:
        raise SystemExit(f"{name} failed with exit {measured.returncode}: {measured.stderr[-2000:]}")
    return measured


def measure(name: str, argv: list[str], base: str, stdout_path: str = os.devnull) -> dict[str, object]:
    before = served(base)
    measured = run_child(name, argv, stdout_path)
    return {"client": name, "seconds": round(measured.seconds, 2), "requests": served(base) - before,
            "peak_mb": measured.peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=50000)
    parser.add_argument("--skip-dump", action="store_true", help="Skip the slow `ckanapi dump datasets --all`.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-harvest-"))
    sandbox, base = start_sandbox(args.datasets)
    try:
        warm_up(base, args.datasets)
        api = f"{base}/synthetic/api/3/action/"
        config = work / "catalogs.toml"
        config.write_text(f'[harvester]\ndata_dir = "{work / "data"}"\n\n[catalogs.synthetic]\n'
                          f'title = "Synthetic"\napi_url = "{api}"\nkind = "ckan"\n', encoding="utf-8")
        harvester = [str(BIN / "harvester"), "--config", str(config), "--quiet", "harvest", "synthetic"]
        ckanapi = str(BIN / "ckanapi")
        rows = [measure("harvester harvest (full)", harvester, base)]
        rows.append(measure("ckanapi search datasets", [ckanapi, "search", "datasets", "-r", f"{base}/synthetic"],
                            base))
        if not args.skip_dump:
            rows.append(measure("ckanapi dump datasets --all",
                                [ckanapi, "dump", "datasets", "--all", "-q", "-r", f"{base}/synthetic"], base))
        rows.append(measure("harvester harvest (no change)", harvester, base))
    finally:
        sandbox.terminate()
        sandbox.wait(10)

    print(f"\nHarvest benchmark, sandbox synthetic catalog of {args.datasets} datasets "
          f"({os.cpu_count()} cores, Python {sys.version.split()[0]})\n")
    print("| client | time (s) | requests | peak memory (MB) |\n|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row['client']} | {row['seconds']} | {row['requests']} | {row['peak_mb']} |")
    times = {str(r["client"]): float(r["seconds"]) for r in rows}  # type: ignore[arg-type]
    ours = times["harvester harvest (full)"]
    print(f"\nfull harvest vs ckanapi search datasets: {times['ckanapi search datasets'] / ours:.2f}x")
    if "ckanapi dump datasets --all" in times:
        print(f"full harvest vs ckanapi dump datasets --all: {times['ckanapi dump datasets --all'] / ours:.2f}x")
    save_results("harvest", {"datasets": args.datasets, "rows": rows})
    shutil.rmtree(work, ignore_errors=True)


def save_results(kind: str, data: dict[str, object]) -> Path:
    """A benchmark's figures as JSON in bench/results/ (not tracked), named by kind and time."""
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    path = out / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


if __name__ == "__main__":
    main()
