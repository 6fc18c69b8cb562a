"""The CSV scan that validate, profile and pack share: DuckDB's `read_csv` over a header we give it (its
sniffer fails, or finds one column, on ragged rows), the cell patterns a column is inferred and converted
with, and a UTF-8 copy of a file in another encoding (DuckDB reads only UTF-8, UTF-16 and Latin-1)."""
from __future__ import annotations

import csv
import itertools
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from harvester.encoding import transcode_to_utf8
from harvester.sql import literal as _lit

PLACEHOLDERS = ("nan", "n/d", "na", "n/a", "-", "s/d", "null", "none", "s/n", "sin datos", "se desconoce",
                "no identificado", "-9999")
PLACEHOLDER_SPELLINGS = sorted({form for p in PLACEHOLDERS for form in (p, p.upper(), p.capitalize(), p.title())}
                               | {"NaN"})
"""The cells that stand for a missing value, as spelled in the files: a pack turns only these into null."""
INTEGER_TEXT = "[+-]?[0-9]{1,18}"
"""What a cell must look like to count (and be converted) as an integer: DuckDB casts 19.4 to BIGINT."""
UTF8 = ("utf-8", "utf-8-sig")


def iso_date_sql(v: str) -> str:
    """SQL: the cell as a DATE when it looks like YYYY-MM-DD (DuckDB's parsers are slow on other text)."""
    return f"CASE WHEN regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN TRY_CAST({v} AS DATE) END"


def dmy_date_sql(v: str) -> str:
    """SQL: the cell as a DATE when it looks like DD/MM/YYYY."""
    return f"CASE WHEN regexp_full_match({v}, '[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{4}}') " \
           f"THEN try_strptime({v}, '%d/%m/%Y')::DATE END"


def header_names(path: Path, delimiter: str, header_row: int) -> list[str]:
    """The header's cells as unique column names (a blank one becomes column_<n>, a repeat name_<n>)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        row = next(itertools.islice(csv.reader(handle, delimiter=delimiter), header_row - 1, None), [])
    names: list[str] = []
    for number, cell in enumerate(row, 1):
        name = cell.strip() or f"column_{number}"
        names.append(name if name not in names else f"{name}_{number}")
    return names


def read_csv_sql(path: Path, delimiter: str, header_row: int, columns: list[str], *, lenient: bool = True,
                 options: str = "") -> str:
    """SQL: `read_csv` of a UTF-8 file's rows after its header, every column VARCHAR and named by us.

    `lenient` pads short rows with nulls and drops malformed ones (profile, pack); the validator's scan
    turns it off and asks for the rejects instead, in `options`. The lenient scan is not parallel: DuckDB's
    parallel scanner refuses null padding on a file whose quoted cells hold line breaks (JSON tables, survey
    answers), and the whole file would be unreadable."""
    spec = "{" + ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in columns) + "}"
    extra = ", null_padding=true, ignore_errors=true, parallel=false" if lenient else ""
    return (f"read_csv({_lit(str(path))}, delim={_lit(delimiter)}, quote='\"', escape='\"', header=false, "
            f"skip={header_row}, auto_detect=false, columns={spec}{extra}{', ' + options if options else ''})")


@contextmanager
def utf8_copy(path: Path, encoding: str, *, folder: Path | None = None) -> Iterator[Path]:
    """`path` itself when it is UTF-8, else a UTF-8 copy beside it (or in `folder`), removed afterwards."""
    if encoding in UTF8:
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=".csv", prefix=".utf8-", dir=folder or path.parent) as copy:
        with path.open("rb") as source:
            transcode_to_utf8(source, copy, encoding)
        copy.flush()
        yield Path(copy.name)
