"""The subset of Solr query syntax CKAN clients send to package_search: q, fq and sort.

Dates are compared and sorted at millisecond precision, as Solr stores them.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

DATE_FIELDS = {"metadata_modified", "metadata_created"}
TEXT_FIELDS = {"id", "name", "title", "organization", "owner_org", "groups", "tags", "res_format",
               "license_id", "type", "dataset_type", "state"}
SORT_FIELDS = {"score", "metadata_modified", "metadata_created", "id", "name", "title_string"}


class QueryError(ValueError):
    """Becomes CKAN's "Search Query Error" (HTTP 400)."""


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def millis(value: str | None) -> str:
    """A stored CKAN timestamp cut to the millisecond, comparable as a string ("" when missing)."""
    if not value:
        return ""
    return value[:23].ljust(23, "0") if "." in value[:20] else value[:19] + ".000"


def parse_date(text: str) -> str:
    """A Solr date bound (ISO with Z) as a millisecond string; `*` stays `*`."""
    if text == "*":
        return "*"
    if not text.endswith("Z"):
        raise QueryError(f"Invalid Date String:'{text}'")
    try:
        parsed = datetime.fromisoformat(text[:-1])
    except ValueError:
        raise QueryError(f"Invalid Date String:'{text}'") from None
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}"


def field_values(dataset: dict[str, Any], name: str) -> list[str]:
    """The indexed values of one field of a dataset."""
    if name in ("type", "dataset_type"):
        return [str(dataset.get("type") or "dataset")]
    if name == "organization":
        org = dataset.get("organization") or {}
        return [org["name"]] if org.get("name") else []
    if name in ("groups", "tags"):
        return [str(i.get("name")) for i in dataset.get(name) or [] if isinstance(i, dict)]
    if name == "res_format":
        return [str(r.get("format")) for r in dataset.get("resources") or [] if r.get("format")]
    if name in DATE_FIELDS:
        return [millis(dataset.get(name))]
    value = dataset.get(name)
    return [str(value)] if value not in (None, "") else []


Predicate = Callable[[dict[str, Any]], bool]
_TOKEN = re.compile(r'[+-]?[\w.]+:(?:"(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\}|\([^)]*\)|\S+)|\S+')


@dataclass(frozen=True)
class Clause:
    field: str
    negate: bool
    test: Predicate
    low: str | None = None
    high: str | None = None


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def parse_clause(token: str) -> Clause:
    negate = token.startswith("-")
    body = token.lstrip("+-")
    if ":" not in body:
        raise QueryError(f"cannot parse '{token}'")
    name, value = body.split(":", 1)
    if name not in TEXT_FIELDS and name not in DATE_FIELDS:
        raise QueryError(f"undefined field {name}")
    if value.startswith("[") and value.endswith("]"):
        parts = value[1:-1].split(" TO ")
        if len(parts) != 2:
            raise QueryError(f"cannot parse range '{value}'")
        if name not in DATE_FIELDS:
            raise QueryError(f"range queries are only supported on dates, not {name}")
        low, high = parse_date(parts[0].strip()), parse_date(parts[1].strip())

        def in_range(d: dict[str, Any]) -> bool:
            v = millis(d.get(name))
            return bool(v) and (low == "*" or v >= low) and (high == "*" or v <= high)
        return Clause(name, negate, in_range, low, high)
    if value.startswith("(") and value.endswith(")"):
        options = {_unquote(o.strip()) for o in re.split(r"\s+OR\s+", value[1:-1].strip()) if o.strip()}
    else:
        options = {_unquote(value)}

    def matches(d: dict[str, Any]) -> bool:
        return any(v in options for v in field_values(d, name)) or ("*" in options and bool(field_values(d, name)))
    return Clause(name, negate, matches)


def parse_filters(text: str) -> list[Clause]:
    return [parse_clause(t) for t in _TOKEN.findall(text or "") if t not in ("AND", "+", "-")]


def matches_all(dataset: dict[str, Any], clauses: list[Clause]) -> bool:
    return all(c.test(dataset) != c.negate for c in clauses)


def search_text(dataset: dict[str, Any]) -> tuple[str, str]:
    """(folded title, folded everything) for free-text matching."""
    org = dataset.get("organization") or {}
    parts = [dataset.get("title") or "", dataset.get("notes") or "", org.get("title") or "", org.get("name") or "",
             " ".join(field_values(dataset, "tags")), " ".join(field_values(dataset, "groups")),
             " ".join(str(r.get("name") or "") for r in dataset.get("resources") or [])]
    return fold(dataset.get("title") or ""), fold(" ".join(parts))


def parse_query(q: str) -> tuple[list[Clause], list[str]]:
    """Fielded clauses and folded free-text terms of q; `*:*` or empty means everything."""
    q = (q or "").strip()
    if q in ("", "*:*", "*"):
        return [], []
    clauses: list[Clause] = []
    terms: list[str] = []
    for token in _TOKEN.findall(q):
        if token in ("AND", "OR"):
            continue
        if ":" in token and token.lstrip("+-").split(":", 1)[0].isidentifier():
            clauses.append(parse_clause(token))
        else:
            terms.extend(t for t in re.findall(r"\w+", fold(token)) if t)
    return clauses, terms


def parse_sort(text: str | None) -> list[tuple[str, bool]]:
    """[(field, descending)], CKAN's default being score desc, metadata_modified desc."""
    text = (text or "score desc, metadata_modified desc").strip()
    keys = []
    for part in text.split(","):
        bits = part.split()
        if not bits:
            continue
        name = bits[0]
        direction = bits[1].lower() if len(bits) > 1 else "asc"
        if name not in SORT_FIELDS or direction not in ("asc", "desc") or len(bits) > 2:
            raise QueryError(f"Can't determine a Sort Order ({part.strip()}) in sort spec '{text}'")
        keys.append((name, direction == "desc"))
    return keys


def sort_key(dataset: dict[str, Any], name: str, score: float) -> Any:
    if name == "score":
        return score
    if name in DATE_FIELDS:
        return millis(dataset.get(name))
    if name == "title_string":
        return str(dataset.get("title") or "")
    return str(dataset.get(name) or "")
