"""Text folding and stemming shared by search, candidates, themes, expectations, scores and packs."""
from __future__ import annotations

import re
import unicodedata


def normalize(text: str) -> str:
    """Lower-case, accents stripped ("Género" -> "genero"); same as the store's strip_accents(lower())."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stem(term: str) -> str:
    """A light Spanish plural stemmer, enough for "mujeres" to find "mujer" and "víctimas" "victima"."""
    if len(term) > 5 and term.endswith("es") and term[-3] not in "aeiou":
        return term[:-2]
    if len(term) > 3 and term.endswith("s"):
        return term[:-1]
    return term


def query_terms(query: str) -> list[str]:
    words = re.findall(r"[\w-]+", normalize(query))
    terms: list[str] = []
    for word in words:
        t = stem(word)
        if len(t) >= 2 and t not in terms:
            terms.append(t)
    return terms
