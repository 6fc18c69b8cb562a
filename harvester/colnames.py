"""A pack's column names: readable Spanish snake_case made from the source's header, nothing dropped.

`Año` -> `anio` (ñ is written `ni`, so `año` and `ano` stay apart), `% mujeres` -> `pct_mujeres`, `Número`
-> `numero`, `idCarpeta` -> `id_carpeta`, `AÃ±o` (UTF-8 read as cp1252) -> `anio`. Symbols that carry
meaning become words (`%` pct, `#` num, `$` pesos, `+` mas, `&` y, `<` menor, `>` mayor, `=` igual, `N°`
num, `°` grados ...); separators (spaces, punctuation, brackets) become `_`; a letter that has no ASCII form (`ß`,
`ø`, Greek, CJK) is kept as it is rather than dropped. The original name stays in the pack's metadata.
"""
from __future__ import annotations

import re
import unicodedata

SYMBOLS = {"%": "pct", "‰": "por_mil", "#": "num", "№": "num", "$": "pesos", "€": "euros", "+": "mas",
           "&": "y", "@": "arroba", "<": "menor", ">": "mayor", "=": "igual", "°": "grados", "º": "o", "ª": "a",
           "½": "medio", "¼": "cuarto", "¾": "tres_cuartos", "*": "ast"}
"""Symbols whose meaning a name would lose if they became `_`, and the word each becomes."""
SEPARATORS = set(" \t\r\n_-.,;:/\\|()[]{}'\"`´¨¿?¡!~^«»“”‘’·•…–—\ufeff\ufffd")
"""Characters that only separate words: `_` in a name (the `?` and U+FFFD of a letter lost upstream too)."""
BOM_MOJIBAKE = "ï»¿"


def repair_mojibake(name: str) -> str:
    """`AÃ±o` -> `Año`: text that was UTF-8 read as cp1252 (or Latin-1), decoded back; else as it was."""
    text = name.replace(BOM_MOJIBAKE, "").replace("\ufeff", "")
    if not re.search("[ÃÂâ][\u0080-\u00bf\u2000-\u20ff\u0152-\u0178\u02c6-\u02dc]", text):
        return text
    for encoding in ("cp1252", "latin-1"):
        try:
            repaired = text.encode(encoding).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        return repaired
    return text


def _words(name: str) -> str:
    """Lower-case words of a name joined by `_`, before deduplication."""
    text = repair_mojibake(name)
    text = re.sub(r"(?i)(?<![a-záéíóúüñ])n[°º]", "num ", text)  # `N°`, `Nº`: número, not degrees
    text = re.sub(r"(?<=[a-záéíóúüñ0-9])(?=[A-ZÁÉÍÓÚÜÑ])", "_", text)  # camelCase -> camel_Case
    out: list[str] = []
    for char in text.lower():
        if char == "ñ":
            out.append("ni")
        elif char in SYMBOLS:
            out.append(f"_{SYMBOLS[char]}_")
        elif char in SEPARATORS or char.isspace():
            out.append("_")
        else:
            folded = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            folded = folded.lower()
            if folded and all(c.isascii() and c.isalnum() for c in folded):
                out.append(folded)
            elif char.isalnum():
                out.append(char)  # no ASCII form: kept, never dropped
            else:
                out.append(f"_u{ord(char):04x}_")  # a symbol we have no word for: its code point, not nothing
    return re.sub(r"_+", "_", "".join(out)).strip("_")


def snake(name: str, taken: set[str], position: int) -> str:
    """A clean, unique snake_case column name (see the module doc); `taken` gets it."""
    text = _words(name) or f"column_{position}"
    if text[0].isdigit():
        text = f"c_{text}"
    return unique(text, taken)


def unique(base: str, taken: set[str]) -> str:
    """`base`, or `base_2`, `base_3`, ... whichever is not taken yet; it is taken then."""
    result, n = base, 2
    while result in taken:
        result, n = f"{base}_{n}", n + 1
    taken.add(result)
    return result
