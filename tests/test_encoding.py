"""Encodings are decided over the whole file: the cases of REAL_WORLD.md."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from harvester.encoding import detect_encoding, transcode_to_utf8

ROWS = "fecha,alcaldia,colonia\n" + "2024-01-01,Iztapalapa,Centro\n" * 20000  # ~600 kB of ASCII
LATE = "2024-01-02,Cuauhtémoc,Peñón de los Baños — “Centro”\n"


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    return path


def test_cp1252_whose_first_accent_comes_late(tmp_path):
    data = (ROWS + LATE).encode("cp1252")
    assert data[:500_000].isascii()
    found = detect_encoding(write(tmp_path, data))
    assert found.name == "cp1252" and found.first_non_utf8_offset > 500_000
    assert data.decode(found.name).endswith(LATE)


def test_latin1_without_cp1252_punctuation(tmp_path):
    found = detect_encoding(write(tmp_path, (ROWS + "2024,Cuauhtémoc,Niño\n").encode("latin-1")))
    assert found.name == "latin-1"


@pytest.mark.parametrize("prefix, expected", [(b"", "utf-8"), (b"\xef\xbb\xbf", "utf-8-sig")])
def test_utf8_with_and_without_bom(tmp_path, prefix, expected):
    assert detect_encoding(write(tmp_path, prefix + (ROWS + LATE).encode())).name == expected


def test_mojibake_already_in_utf8_is_still_utf8(tmp_path):
    # Baked-in mojibake is valid UTF-8: an alert for the profiler, not an encoding question.
    assert detect_encoding(write(tmp_path, "PeriodicidadÃ³n,ï»¿Conjunto de datos\n".encode())).name == "utf-8"


def test_utf8_broken_at_the_very_end(tmp_path):
    assert detect_encoding(write(tmp_path, ROWS.encode() + "é".encode()[:1])).name == "latin-1"


def test_transcode_streams_cp1252_to_utf8():
    text = ROWS + LATE
    target = io.BytesIO()
    transcode_to_utf8(io.BytesIO(text.encode("cp1252")), target, "cp1252")
    assert target.getvalue().decode("utf-8") == text
