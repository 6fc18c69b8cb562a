"""Pack build benchmark: `harvester pack build` of a theme whose one table has N rows, against a DuckDB
`COPY (SELECT * FROM read_csv(...)) TO 'x.parquet'` of the same file, side by side.

Run:  python bench/bench_pack.py [--rows 1000000] [--repeat 3] [--expectations]

The CSV is bench_validate's victims-like file (UTF-8, 9 columns). The sandbox portal serves it as the one
resource of a dataset; harvest, fetch, validate and profile run once (not timed); then the pack build and
the COPY each run `--repeat` times in their own process through bench/peak.py (wall time including starting
Python and importing, and the process's own peak memory). The theme profile has no expectations unless
`--expectations` (then an alcaldía, a date and a count expectation run with Great Expectations on the
table). Results: a table on stdout and JSON in bench/results/.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import peak  # noqa: E402
from bench_validate import write_csv  # noqa: E402

BIN = Path(sys.executable).parent
SITE, ORG, CATALOG, THEME, DATASET = "cdmx", "bench-org", "bench", "bench-pack", "victimas-bench"


def _toml(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def setup(home: Path, rows: int, expectations: bool) -> tuple[Path, Path]:
    """The CSV, a store with it harvested, fetched, validated and profiled, and the theme profile: the config
    and the CSV's path."""
    from click.testing import CliRunner

    from harvester.cli import cli
    from harvester.sandbox import SandboxPortal, server
    from harvester.sandbox.sites import SANDBOX

    served = home / "served" / SITE / DATASET
    served.mkdir(parents=True)
    source = served / "victimas.csv"
    write_csv(source, rows, "utf-8", errors=False)
    profiles = home / "profiles"
    profiles.mkdir()
    checks = ('\n[expectations]\nalcaldia_columns = ["alcaldia*"]\ndate_columns = ["fecha*"]\n'
              'count_columns = ["edad"]\n') if expectations else ""
    (profiles / f"{THEME}.toml").write_text(
        f'[theme]\nname = "{THEME}"\ntitle = "Banco de pruebas"\nproblem_es = "Medir."\nproblem_en = "Measure."\n\n'
        f'[match]\nterms = ["victimas"]\ninclude = ["{CATALOG}/{DATASET}"]\n{checks}', encoding="utf-8")
    portal = SandboxPortal()
    portal.start()
    try:
        config = home / "catalogs.toml"
        config.write_text("\n".join([
            "[harvester]", f"data_dir = {_toml(str(home / 'data'))}", f"profiles = {_toml(str(profiles))}", "",
            f"[catalogs.{CATALOG}]", 'title = "Bench"', f"api_url = {_toml(portal.api_url(SITE))}",
            f"organization = {_toml(ORG)}", "", "[fetch]", 'allow_hosts = ["127.0.0.1"]',
            "max_bytes = 20000000000", "max_seconds = 3600", ""]), encoding="utf-8")
        portal.reset()
        portal.add(SITE, {"name": DATASET, "title": "Víctimas (banco de pruebas)", "notes": "Víctimas, N filas.",
                          "organization": {"id": ORG, "name": ORG, "title": "Banco"}, "owner_org": ORG,
                          "license_id": "cc-by", "resources": [{"id": "bench-0", "name": "Víctimas", "format": "CSV",
                                                                "url": f"{SANDBOX}/files/{SITE}/{DATASET}/victimas.csv"}]})
        server.FILES = home / "served"
        for stage in (["harvest", CATALOG], ["fetch", CATALOG], ["validate", CATALOG], ["profile", CATALOG]):
            result = CliRunner().invoke(cli, ["--config", str(config), "--quiet", *stage], catch_exceptions=False)
            if result.exit_code != 0:
                raise SystemExit(f"{' '.join(stage)} failed: {result.output[-1000:]}")
    finally:
        portal.stop()
    return config, source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--expectations", action="store_true", help="the profile checks three expectations")
    parser.add_argument("--keep", action="store_true", help="keep the folder (its catalogs.toml is printed)")
    args = parser.parse_args()
    peak.byte_compile()
    home = Path(tempfile.mkdtemp(prefix="bench-pack-"))
    started = time.monotonic()
    config, source = setup(home, args.rows, args.expectations)
    print(f"setup (write {args.rows:,} rows, harvest, fetch, validate, profile): {time.monotonic() - started:.1f} s",
          flush=True)
    packs = home / "data" / "packs" / THEME
    copy_sql = (f"COPY (SELECT * FROM read_csv('{source}')) TO '{home / 'copy.parquet'}' "
                "(FORMAT parquet, COMPRESSION zstd)")
    runs: dict[str, list[peak.Measured]] = {"harvester pack build": [], "duckdb COPY to parquet": []}
    sums: list[str] = []  # each build's SHA256SUMS: the same bytes every time
    for _ in range(args.repeat):
        shutil.rmtree(packs, ignore_errors=True)  # a fresh build each time, not "nothing changed"
        runs["harvester pack build"].append(peak.run([str(BIN / "harvester"), "--config", str(config), "--quiet",
                                                       "pack", "build", THEME], timeout=3600))
        sums.append((packs / "latest" / "SHA256SUMS").read_text(encoding="utf-8"))
        runs["duckdb COPY to parquet"].append(peak.run([sys.executable, "-c", f"import duckdb; duckdb.sql({copy_sql!r})"],
                                                       timeout=3600))
    for name, measured in runs.items():
        failed = [m for m in measured if m.returncode != 0]
        if failed:
            raise SystemExit(f"{name} failed: {failed[0].stderr[-2000:]}{failed[0].stdout[-1000:]}")
    table = {name: {"seconds": statistics.median(m.seconds for m in measured),
                    "peak_mb": max(m.peak_mb for m in measured)} for name, measured in runs.items()}
    ratio = table["harvester pack build"]["seconds"] / table["duckdb COPY to parquet"]["seconds"]
    size = source.stat().st_size / 1e6
    print(f"\nPack build vs DuckDB COPY, {args.rows:,} rows ({size:.0f} MB CSV), median of {args.repeat}"
          f"{', with expectations' if args.expectations else ''}\n")
    print("| client | time (s) | peak memory (MB) |\n|---|---:|---:|")
    for name, row in table.items():
        print(f"| {name} | {row['seconds']:.2f} | {row['peak_mb']:.1f} |")
    identical = len(sums) == args.repeat and len(set(sums)) == 1
    print(f"\npack build / COPY: {ratio:.2f}x; {args.repeat} builds byte-identical: {'yes' if identical else 'NO'}")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"bench_pack-{args.rows}{'-expectations' if args.expectations else ''}.json").write_text(
        json.dumps({"rows": args.rows, "csv_mb": round(size, 1), "repeat": args.repeat,
                    "expectations": args.expectations, "table": table, "ratio": round(ratio, 2),
                    "byte_identical": identical}, indent=2) + "\n",
        encoding="utf-8")
    if args.keep:
        print(f"kept: {config}")
    else:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
