"""How long keying places takes (issue 13, "Places that join"): `harvester.places.key_places` on tables of
1,000,000 rows in DuckDB.

Run:  python bench/bench_places.py [--rows 1000000] [--repeat 3]

Two tables, built in an in-memory DuckDB from the package's INEGI facts (nothing is downloaded or read
from disk but those):
- `cdmx`: a victims-like table from the CDMX portal: `AlcaldiaHechos` in the spellings real files use
  (CUAUHTEMOC, Cuauhtemoc, GUSTAVO A. MADERO, 'Alcaldía Tlalpan', 'Del. Coyoacán', 'Magdalena Contreras',
  'R?o'-style lost accents, 'NA', empty, a municipio of the Estado de México, a typo), `municipio` as
  unpadded numbers ('9'), state hint CDMX;
- `nacional`: every municipio's name (upper case, accents lost to U+FFFD in a tenth) with its state's
  name in another column, so the 90 names that several states share are told apart by the state column.

For each: key_places with the columns named, and with them detected (`columns=None`), with DuckDB's
default threads and with `SET threads = 1` (as the pack builder runs). Then what a pack build pays: the
table's COPY to zstd Parquet alone, and key_places(view=True) followed by the COPY of the view. Wall and
CPU time (the process's, DuckDB's threads included: on a busy machine the wall time waits for the other
processes) are the best of `--repeat`; the check that every row is kept in order with its original
cells, and the share matched, are printed beside them. Exit 1 if a check fails. Results: a table on
stdout and JSON in bench/results/.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable
import unicodedata

import duckdb

from bench_harvest import save_results

from harvester.placenames import places
from harvester.places import key_places


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _lost(text: str) -> str:
    """Accented letters as U+FFFD, as in files whose Latin-1 accents were lost."""
    return "".join("\ufffd" if c != _plain(c) else c for c in text)


def cdmx_spellings() -> list[str]:
    names = [p.name for p in places() if p.cve_ent == "09" and p.cve_mun]
    spellings = []
    for name in names:
        spellings += [name, name.upper(), _plain(name).upper(), _plain(name), f"Alcaldía {name}",
                      f"Del. {_plain(name)}", f"{name}, CDMX", _lost(name)]
    return spellings + ["GUSTAVO A MADERO", "Magdalena Contreras", "MAGDALENA CONTRERAS", "Cuajimalpa",
                        "NA", "", "Ecatepec de Morelos", "Nezahualcóyotl", "Cuahutemoc", "FUERA DE CDMX"]


def build(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    spellings = cdmx_spellings()
    con.execute("CREATE OR REPLACE TEMP TABLE spellings AS SELECT * FROM (SELECT unnest(?) AS s, "
                "generate_subscripts(?, 1) - 1 AS i)", [spellings, spellings])
    con.execute(f"""CREATE OR REPLACE TABLE cdmx AS
        SELECT r AS id, s.s AS "AlcaldiaHechos", CAST((r % 16) + 2 AS VARCHAR) AS municipio,
               'Robo a transeúnte' AS "Delito"
        FROM range({rows}) t(r) JOIN spellings s ON s.i = (hash(r) % {len(spellings)}) ORDER BY r""")
    municipios = [(p.name, p.state_name) for p in places() if p.cve_mun]
    names = [(_lost(n) if i % 10 == 0 else n.upper(), s) for i, (n, s) in enumerate(municipios)]
    con.execute("CREATE OR REPLACE TEMP TABLE national AS SELECT * FROM (SELECT unnest(?) AS m, unnest(?) AS e, "
                "generate_subscripts(?, 1) - 1 AS i)", [[n for n, _ in names], [s for _, s in names], names])
    con.execute(f"""CREATE OR REPLACE TABLE nacional AS
        SELECT r AS id, n.e AS "Entidad", n.m AS "Municipio", r * 0.5 AS valor
        FROM range({rows}) t(r) JOIN national n ON n.i = (hash(r) % {len(names)}) ORDER BY r""")


def check(con: duckdb.DuckDBPyConnection, source: str, target: str, columns: list[str]) -> bool:
    """Every row kept, in order, with its original cells."""
    same = " AND ".join(f"s.{c} IS NOT DISTINCT FROM t.{c}" for c in ["id"] + [f'"{c}"' for c in columns])
    kept = con.execute(f"""SELECT count(*) = (SELECT count(*) FROM {source}) AND bool_and({same})
        FROM (SELECT *, row_number() OVER () AS n FROM {source}) s
        JOIN (SELECT *, row_number() OVER () AS n FROM {target}) t ON s.n = t.n""").fetchone()[0]
    ordered = con.execute(f"SELECT bool_and(id = n - 1) FROM (SELECT id, row_number() OVER () AS n "
                          f"FROM {target})").fetchone()[0]
    return bool(kept and ordered)


def best(repeat: int, work: Callable[[], object]) -> tuple[float, float]:
    """The best wall and CPU seconds of `repeat` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.monotonic(), time.process_time()
        work()
        walls.append(time.monotonic() - wall)
        cpus.append(time.process_time() - cpu)
    return round(min(walls), 3), round(min(cpus), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    begun = time.monotonic()
    build(con, args.rows)
    print(f"built 2 tables of {args.rows:,} rows in {time.monotonic() - begun:.1f}s", file=sys.stderr)
    cases = [("cdmx", ["AlcaldiaHechos", "municipio"], "CDMX"), ("cdmx", None, "CDMX"),
             ("nacional", ["Entidad", "Municipio"], None), ("nacional", None, None)]
    results, failed = [], False
    default_threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    out = Path(tempfile.mkdtemp(prefix="bench-places-")) / "t.parquet"
    for threads in (default_threads, 1):
        con.execute(f"SET threads = {threads}")
        for table, columns, hint in cases:
            keyings = []
            seconds, cpu = best(args.repeat, lambda: keyings.__setitem__(
                slice(None), key_places(con, table, columns, hint, target=f"{table}_keyed")))
            ok = check(con, table, f"{table}_keyed", [k.column for k in keyings])
            failed |= not ok
            results.append({
                "table": table, "rows": args.rows, "columns": "named" if columns else "detected",
                "threads": threads, "seconds": seconds, "cpu_seconds": cpu, "kept_in_order": ok,
                "keyed": {k.column: {"kind": str(k.kind), "share_matched": round(k.share_matched or 0, 4),
                                     "distinct": k.distinct_values, "ambiguous": k.ambiguous_count,
                                     "unmatched": [(v.value, v.rows) for v in k.unmatched[:5]]}
                          for k in keyings}})
    print(f"{'table':9} {'columns':9} {'threads':7} {'wall s':>7} {'cpu s':>6}  kept  share matched per column")
    for r in results:
        shares = ", ".join(f"{c} {v['share_matched']:.2%} ({v['distinct']} distinct, {v['ambiguous']} ambiguous)"
                           for c, v in r["keyed"].items())
        print(f"{r['table']:9} {r['columns']:9} {r['threads']:<7} {r['seconds']:7.3f} {r['cpu_seconds']:6.3f}  "
              f"{'yes' if r['kept_in_order'] else 'NO':4}  {shares}")
    copies = []
    con.execute("SET threads = 1")
    for table, columns, hint in cases[::2]:
        plain = best(args.repeat, lambda: con.execute(
            f"COPY {table} TO '{out}' (FORMAT parquet, COMPRESSION zstd)"))

        def keyed_copy() -> None:
            key_places(con, table, columns, hint, target=f"{table}_view", view=True)
            con.execute(f"COPY (SELECT * FROM {table}_view) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
        keyed = best(args.repeat, keyed_copy)
        ok = check(con, table, f"{table}_view", columns)
        failed |= not ok
        copies.append({"table": table, "rows": args.rows, "threads": 1, "copy": plain, "key_view_and_copy": keyed,
                       "kept_in_order": ok})
    print(f"\n{'table':9} {'COPY to Parquet':>16} {'key_places(view) + COPY':>24}  (wall s / cpu s, threads 1)  kept")
    for c in copies:
        print(f"{c['table']:9} {c['copy'][0]:8.3f}/{c['copy'][1]:<7.3f} {c['key_view_and_copy'][0]:15.3f}/"
              f"{c['key_view_and_copy'][1]:<8.3f} {'':27} {'yes' if c['kept_in_order'] else 'NO'}")
    print(f"results: {save_results('places', {'rows': args.rows, 'results': results, 'copies': copies})}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
