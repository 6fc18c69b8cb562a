"""Nightly benchmark: `harvester nightly` on the sandbox, a full run and a run with nothing changed, then
`harvester report` alone.

Run:  python bench/bench_nightly.py [--synthetic N]

Starts `python -m harvester.sandbox` in its own process and writes the demo's catalogs.toml (all eight demo
catalogs, the bundled theme profiles; with --synthetic N also a generated catalog of N datasets). Each
command runs as a child process; the table gives its wall time, own peak memory (bench/peak.py) and, for the
nightly runs, the time per stage from the run summary. Everything talks to 127.0.0.1 only.
Results: a table on stdout and JSON in bench/results/.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import peak  # noqa: E402
from bench_harvest import save_results, start_sandbox  # noqa: E402
from harvester.demo import write_demo_config  # noqa: E402

BIN = Path(sys.executable).parent


def run(name: str, argv: list[str], ok: tuple[int, ...] = (0,)) -> dict[str, object]:
    measured = peak.run(argv)
    if measured.returncode not in ok:
        raise SystemExit(f"{name} failed with exit {measured.returncode}: {measured.stderr[-2000:]}")
    return {"command": name, "seconds": round(measured.seconds, 2), "peak_mb": measured.peak_mb,
            "exit": measured.returncode, "stdout": measured.stdout}


def demo_harvester(work: Path, base: str, synthetic: int) -> list[str]:
    """The demo's catalogs.toml in `work`, pointing at the sandbox at `base` (with `synthetic` generated
    datasets): the `harvester` command line that uses it."""
    config = work / "catalogs.toml"

    def api_url(site: str) -> str:
        return f"{base}/{site}/?q=api/3/action/" if site == "mardelplata" else f"{base}/{site}/api/3/action/"
    write_demo_config(config, api_url, Path("data"), synthetic)
    return [str(BIN / "harvester"), "--config", str(config), "--quiet"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=0, help="add a generated catalog of N datasets")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-nightly-"))
    sandbox, base = start_sandbox(args.synthetic)
    try:
        harvester = demo_harvester(work, base, args.synthetic)
        rows = []
        for name in ("nightly (full)", "nightly (no change)"):
            row = run(name, harvester + ["nightly", "--json"], ok=(0, 3))
            summary = json.loads(str(row.pop("stdout")))
            row["stages"] = summary["seconds"]
            row["work"] = {k: v for k, v in summary["work"].items() if k != "failed_catalogs"}
            row["failures"] = [f"{f['stage']} {f['what']}: {f['reason']}" for f in summary["failures"]]
            rows.append(row)
        shutil.rmtree(work / "data" / ".site")  # the site alone, built from scratch
        (work / "data" / "site").unlink()
        row = run("report (from scratch)", harvester + ["report", "--json"])
        row["pages"] = json.loads(str(row.pop("stdout")))["pages"]
        rows.append(row)
    finally:
        sandbox.terminate()
        sandbox.wait(10)

    print(f"\nNightly benchmark on the sandbox: 8 demo catalogs{f' + {args.synthetic} synthetic datasets' if args.synthetic else ''} "
          f"({os.cpu_count()} cores, Python {sys.version.split()[0]})\n")
    print("| command | time (s) | peak memory (MB) | per stage (s) | work |\n|---|---:|---:|---|---|")
    for r in rows:
        stages = ", ".join(f"{k} {v}" for k, v in dict(r.get("stages", {})).items() if k != "total")  # type: ignore[arg-type]
        work = ", ".join(f"{k} {v}" for k, v in dict(r.get("work", {})).items()) or f"{r.get('pages')} pages"  # type: ignore[arg-type]
        print(f"| {r['command']} | {r['seconds']} | {r['peak_mb']} | {stages} | {work} |")
        for failure in r.get("failures", []):  # type: ignore[union-attr]
            print(f"|   failure: {failure} |")
    save_results("nightly", {"synthetic": args.synthetic, "rows": rows})
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
