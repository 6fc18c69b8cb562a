"""Site benchmark: `harvester report` on a large store, from scratch, with nothing changed, and after a
change to a few datasets.

Run:  python bench/bench_site.py [--synthetic 50000] [--changed 10]

Starts `python -m harvester.sandbox --synthetic N` in its own process, writes the demo's catalogs.toml (the
eight demo catalogs, the bundled theme profiles, the synthetic catalog) and harvests the synthetic catalog
once into a fresh store (metadata only: its links are not fetched). Then, each a child process measured for
wall time and its own peak memory (bench/peak.py):

1. `harvester report` from scratch (no published site: every page rendered)
2. `harvester report` again, nothing changed (every page's inputs the same: none rendered, nothing written)
3. `harvester report` after `--changed` datasets changed upstream and `harvester harvest synthetic` took
   them in (those pages and the aggregate pages rendered, the others carried over by hard link; the search
   index's shards holding the changed pages indexed again, the others carried over)

Each row says how long the search index took, how many of its shards Pagefind ran for, and the largest
Pagefind process's peak memory.

Everything talks to 127.0.0.1 only. Results: a table on stdout and JSON in bench/results/.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import peak  # noqa: E402
from bench_harvest import save_results, start_sandbox  # noqa: E402
from bench_nightly import demo_harvester  # noqa: E402

BIN = Path(sys.executable).parent


def run(name: str, argv: list[str]) -> dict[str, object]:
    measured = peak.run(argv)
    if measured.returncode != 0:
        raise SystemExit(f"{name} failed with exit {measured.returncode}: {measured.stderr[-2000:]}")
    return {"step": name, "seconds": round(measured.seconds, 2), "peak_mb": measured.peak_mb,
            "cpu_seconds": measured.cpu_seconds, "stdout": measured.stdout}


def touch(base: str, name: str, title: str) -> None:
    request = urllib.request.Request(f"{base}/_sandbox/synthetic/touch", method="POST",
                                     data=json.dumps({"id": name, "changes": {"title": title}}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=50000, help="datasets in the generated catalog")
    parser.add_argument("--changed", type=int, default=10, help="datasets changed before the last build")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-site-"))
    sandbox, base = start_sandbox(args.synthetic)
    rows = []
    try:
        harvester = demo_harvester(work, base, args.synthetic)
        harvested = run("harvest synthetic (once, not the site)", harvester + ["harvest", "synthetic"])
        harvested.pop("stdout")

        def report(name: str) -> None:
            row = run(name, harvester + ["report", "--json"])
            result = json.loads(str(row.pop("stdout")))
            row.update(pages=result["pages"], rendered=result["rendered"], carried=result["carried"],
                       published=result["published"], search=result.get("search"))
            rows.append(row)
        report("report, from scratch")
        report("report, nothing changed")
        step = max(1, args.synthetic // args.changed)
        for i in range(args.changed):
            touch(base, f"conjunto-{i * step:06d}", f"Conjunto cambiado {i}")
        changed = run(f"harvest synthetic ({args.changed} changed)", harvester + ["harvest", "synthetic"])
        changed.pop("stdout")
        report(f"report, {args.changed} datasets changed")
        site = (work / "data" / "site").resolve()
        size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    finally:
        sandbox.terminate()
        sandbox.wait(10)

    print(f"\nSite benchmark: {args.synthetic} synthetic datasets (harvested, not fetched) + 8 demo catalogs "
          f"(not harvested), the bundled theme profiles ({os.cpu_count()} cores, Python {sys.version.split()[0]})")
    print(f"Harvest once: {harvested['seconds']} s; the {args.changed} changes: {changed['seconds']} s. "
          f"Published site: {size / 2**20:.0f} MB.\n")
    # CPU time too: on a machine shared with other work, wall time says as much about the others' load
    # the search index: its time, the shards Pagefind ran for (of all; an older build has one index, no
    # shards) and the largest Pagefind process's peak (older builds do not say: the build's peak holds it)
    print("| build | time (s) | CPU (s) | peak memory (MB) | pages | rendered | carried over | published "
          "| search index (s) | shards indexed | Pagefind peak (MB) | index (MB) |\n"
          "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        search = r.get("search") or {}
        shards = f"{len(search['indexed'])} of {search['shards']}" if "shards" in search else \
            ("–" if not search else ("0 (carried)" if search.get("carried") else "all (one index)"))
        print(f"| {r['step']} | {r['seconds']} | {r['cpu_seconds']:.1f} | {r['peak_mb']} | {r['pages']} | "
              f"{r['rendered']} | {r['carried']} | {'yes' if r['published'] else 'no'} | "
              f"{search.get('seconds', '–')} | {shards} | {search.get('pagefind_peak_mb') or '–'} | "
              f"{round(search['bytes'] / 2**20, 1) if search else '–'} |")
    print(f"\nLoad average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    save_results("site", {"synthetic": args.synthetic, "changed": args.changed, "harvest": harvested,
                          "harvest_changes": changed, "site_bytes": size, "rows": rows})
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
