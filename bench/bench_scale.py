"""Scale benchmark: `harvester validate` and `harvester profile` over N fetched files, here against a Dask
LocalCluster of 2 worker processes (`--dask local`, harvester/scale.py).

Run:  python bench/bench_scale.py [--files 200] [--rows 20000]

Writes N victimas-like CSVs (bench/bench_validate.py's write_csv; rows vary by about 10% per file, one in
four cp1252, one in twenty with bad rows: missing cells, an extra cell, type errors) and serves them with
the sandbox portal, in this process, as the resources of datasets of one organization of the `cdmx` site.
`harvester harvest` and `harvester fetch` run once into a data folder, which is then copied twice; in copy A
`validate` and `profile` run here, in copy B with `--dask local`. Each command is a child process measured
by bench/peak.py; it runs the harvester CLI through a small wrapper that also reads the driver's own
rusage, so the table tells the driver's CPU time and peak memory apart from its worker processes' (Linux
adds reaped children, the LocalCluster's workers among them, to what wait4 reports; JSON keeps both).
Then both stores must hold the same validations and column profiles (read-only DuckDB queries); the exit
status is 1 when they do not. The 1-minute load average at the start and the end is printed too: on a shared
machine wall times move with the other processes, CPU times much less.
Everything talks to 127.0.0.1 only. Results: a table on stdout and JSON in bench/results/.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import duckdb  # noqa: E402

import peak  # noqa: E402
from bench_harvest import save_results  # noqa: E402
from bench_validate import write_csv  # noqa: E402
from harvester.sandbox import SandboxPortal, server  # noqa: E402
from harvester.sandbox.sites import SANDBOX  # noqa: E402

SITE = "cdmx"
ORG = "fiscalia-escala"
CATALOG = "escala"
FILES_PER_DATASET = 5
# The harvester CLI, with the driver's own usage (RUSAGE_SELF) and its reaped children's (the Dask
# workers) written to the file named by the first argument when the command ends.
DRIVER = """\
import json, resource, sys
report = sys.argv.pop(1)
sys.argv[0] = "harvester"
from harvester.cli import cli
try:
    cli(prog_name="harvester")
finally:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(report, "w", encoding="utf-8") as out:
        json.dump({"cpu": own.ru_utime + own.ru_stime, "peak_kb": own.ru_maxrss,
                   "children_cpu": kids.ru_utime + kids.ru_stime, "children_peak_kb": kids.ru_maxrss}, out)
"""
VALIDATIONS = ("SELECT catalog_id, dataset_id, resource_id, part, engine, valid, rows, error_count, errors_by_type, "
               "encoding, delimiter, header_row FROM validations ORDER BY ALL")
COLUMNS = ("SELECT catalog_id, dataset_id, resource_id, part, position, name, type, rows, missing_share, "
           "distinct_count, min, max, alerts, details FROM column_profiles "
           "ORDER BY catalog_id, dataset_id, resource_id, part, position")
BAD_LINES = ("{i},2024,2024-01-01,Robo,Mujer\n",  # missing cells
             "{i},2024,2024-01-01,Robo a transeunte,Mujer,30,Tlalpan,19.3,-99.1,sobra\n",  # extra cell
             "{i},dos mil,2024-01-01,Robo,Mujer,treinta,Tlalpan,19.3,-99.1\n")  # type errors


def write_files(served: Path, files: int, rows: int) -> list[dict[str, Any]]:
    """The CSVs under `served`/<site>/<dataset>/ and the datasets whose resources point at them."""
    datasets: list[dict[str, Any]] = []
    spread = max(rows // 5, 1)
    for i in range(files):
        if i % FILES_PER_DATASET == 0:
            name = f"carpetas-de-investigacion-{i // FILES_PER_DATASET + 1:03d}"
            datasets.append({
                "name": name, "title": f"Carpetas de investigación, lote {i // FILES_PER_DATASET + 1}",
                "notes": "Víctimas en carpetas de investigación de la FGJ de la Ciudad de México.",
                "organization": {"id": ORG, "name": ORG, "title": "Fiscalía (benchmark de escala)"},
                "owner_org": ORG, "license_id": "cc-by", "tags": [{"name": "victimas"}], "resources": []})
            (served / SITE / name).mkdir(parents=True)
        dataset = datasets[-1]
        encoding = "cp1252" if i % 4 == 1 else "utf-8"
        errors = i % 20 == 7
        file = f"victimas-{i + 1:04d}.csv"
        path = served / SITE / dataset["name"] / file
        count = rows - rows // 10 + (i * 7919) % spread  # about rows, give or take 10%
        write_csv(path, count, encoding, False)
        if errors:
            with path.open("a", encoding=encoding, newline="") as out:
                for k, line in enumerate(BAD_LINES):
                    out.write(line.format(i=count + k))
        dataset["resources"].append({"id": f"{dataset['name']}-{len(dataset['resources'])}", "name": file,
                                     "format": "CSV", "url": f"{SANDBOX}/files/{SITE}/{dataset['name']}/{file}"})
    return datasets


def write_config(path: Path, data: Path, api_url: str) -> Path:
    path.write_text("\n".join([
        "[harvester]", f"data_dir = {json.dumps(str(data))}", "",
        "[defaults]", "timeout = 60", "connect_timeout = 5", "retries = 2", "backoff = 0.1", "",
        f"[catalogs.{CATALOG}]", 'title = "Benchmark de escala"', f"api_url = {json.dumps(api_url)}",
        'kind = "ckan"', f"organization = {json.dumps(ORG)}", "",
        "[fetch]", 'allow_hosts = ["127.0.0.1"]', ""]), encoding="utf-8")
    return path


def run(name: str, where: str, config: Path, args: list[str]) -> dict[str, Any]:
    """One harvester command as a child process: wall time and peak.run's figures, the driver's own CPU and
    peak memory, its workers' CPU, and the command's --json output."""
    with tempfile.TemporaryDirectory(prefix="bench-scale-usage-") as scratch:
        usage_path = Path(scratch) / "driver.json"
        argv = [sys.executable, "-c", DRIVER, str(usage_path), "--config", str(config), "--quiet", *args, "--json"]
        measured = peak.run(argv, env={k: v for k, v in os.environ.items() if k != "HARVESTER_CONFIG"})
        if measured.returncode != 0:
            raise SystemExit(f"{name} ({where}) failed with exit {measured.returncode}: {measured.stderr[-2000:]}")
        usage = json.loads(usage_path.read_text(encoding="utf-8"))
    return {"command": name, "where": where, "seconds": round(measured.seconds, 2),
            "driver_cpu_seconds": round(usage["cpu"], 2), "driver_peak_mb": round(usage["peak_kb"] / 1024, 1),
            "workers_cpu_seconds": round(usage["children_cpu"], 2),
            "workers_peak_mb": round(usage["children_peak_kb"] / 1024, 1),
            "tree_cpu_seconds": measured.cpu_seconds, "tree_peak_mb": measured.peak_mb,
            "summary": json.loads(measured.stdout)}


def store_rows(data: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(data / "catalog.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200, help="CSV files to validate and profile")
    parser.add_argument("--rows", type=int, default=20_000, help="rows per file (give or take 10%%)")
    args = parser.parse_args()
    load = {"start": os.getloadavg()[0]}
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    served = work / "served"
    datasets = write_files(served, args.files, args.rows)
    source_mb = sum(p.stat().st_size for p in served.rglob("*.csv")) / 1e6
    setup: dict[str, float] = {}
    with SandboxPortal() as portal:
        for dataset in datasets:
            portal.add(SITE, dataset)
        server.FILES = served  # /files/<site>/<dataset>/<file> is read from here
        api_url = portal.api_url(SITE)
        config = write_config(work / "catalogs.toml", work / "data", api_url)
        for stage in ("harvest", "fetch"):
            row = run(stage, "here", config, [stage, CATALOG])
            setup[stage] = row["seconds"]
            print(f"{stage}: {row['seconds']} s  {json.dumps(row['summary'], ensure_ascii=False)[:200]}",
                  flush=True)
    copies = {"here": work / "data-A", "LocalCluster 2 workers": work / "data-B"}
    configs = {}
    for where, data in copies.items():
        shutil.copytree(work / "data", data)
        configs[where] = write_config(work / f"catalogs-{data.name}.toml", data, api_url)
    rows = []
    for where, extra in (("here", []), ("LocalCluster 2 workers", ["--dask", "local"])):
        for command in ("validate", "profile"):
            row = run(command, where, configs[where], [command, CATALOG, *extra])
            rows.append(row)
            print(f"{command} ({where}): {row['seconds']} s", flush=True)
    load["end"] = os.getloadavg()[0]
    comparison = {}
    for table, sql in (("validations", VALIDATIONS), ("column_profiles", COLUMNS)):
        a, b = (store_rows(data, sql) for data in copies.values())
        comparison[table] = {"rows_here": len(a), "rows_cluster": len(b), "match": a == b}

    print(f"\nScale benchmark: {args.files} CSV files, about {args.rows} rows each ({source_mb:.0f} MB), "
          f"validate and profile here and on a Dask LocalCluster ({os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}); setup: harvest {setup['harvest']} s, fetch {setup['fetch']} s; "
          f"load average {load['start']:.1f} at the start, {load['end']:.1f} at the end (other processes share "
          f"the cores: wall times are noisier than CPU times)\n")
    print("| command | where | time (s) | driver CPU (s) | driver peak (MB) | workers' CPU (s) | result |\n"
          "|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        summary = r["summary"]
        if r["command"] == "validate":
            result = f"{summary['validated']} tables validated ({summary['valid']} valid, {summary['invalid']} invalid)"
        else:
            result = f"{summary['profiled']} files profiled ({summary['failed']} unreadable)"
        print(f"| {r['command']} | {r['where']} | {r['seconds']} | {r['driver_cpu_seconds']} | {r['driver_peak_mb']} "
              f"| {r['workers_cpu_seconds']} | {result} |")
    for command in ("validate", "profile"):
        here, there = (r["seconds"] for r in rows if r["command"] == command)
        print(f"\n{command}: the LocalCluster takes {there / here:.2f}x the time here", end="")
    print("\n")
    for table, c in comparison.items():
        print(f"{table}: {c['rows_here']} rows here, {c['rows_cluster']} on the cluster: "
              f"{'the same' if c['match'] else 'DIFFERENT'}")
    path = save_results("scale", {"files": args.files, "rows": args.rows, "source_mb": round(source_mb, 1),
                                  "cores": os.cpu_count(), "load_average": load, "setup_seconds": setup,
                                  "rows_measured": rows, "stores": comparison})
    print(f"\nJSON: {path}")
    shutil.rmtree(work, ignore_errors=True)
    if not all(c["match"] for c in comparison.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
