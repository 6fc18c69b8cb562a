"""The subset of Solr query syntax CKAN clients send to package_search: q, fq and sort.

Dates are compared and sorted at millisecond precision, as Solr stores them: a stored
`2026-09-01T10:00:00.123456` is `2026-09-01T10:00:00.123` to every query.
"""
from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

DATE_FIELDS = frozenset({"metadata_modified", "metadata_created"})
TEXT_FIELDS = frozenset({"id", "name", "title", "organization", "owner_org", "groups", "tags", "res_format",
                         "license_id", "type", "dataset_type", "state"})
SORT_FIELDS = frozenset({"score", "metadata_modified", "metadata_created", "id", "name", "title_string"})
DEFAULT_SORT = "score desc, metadata_modified desc"
TITLE_WEIGHT = 3

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")
_DATE_MATH = re.compile(r"NOW((?:[+-]\d+(?:YEAR|MONTH|DAY|HOUR|MINUTE|SECOND)S?)*)(/DAY)?")
_MATH_STEP = re.compile(r"([+-]\d+)(YEAR|MONTH|DAY|HOUR|MINUTE|SECOND)S?")
_UNIT_SECONDS = {"YEAR": 365 * 86400, "MONTH": 30 * 86400, "DAY": 86400, "HOUR": 3600, "MINUTE": 60, "SECOND": 1}


class QueryError(ValueError):
    """Becomes CKAN's "Search Query Error" (HTTP 400)."""


class SearchError(QueryError):
    """A filter Solr cannot run (a malformed date, range or quote): CKAN answers 409 "Search Error"."""


def fold(text: str) -> str:
    """Lower case without accents: `Género` -> `genero` (other non-ASCII letters are dropped)."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()


# Every byte but letters, digits and "_" becomes a space, so words are found with `f" {word} " in text`.
_SPACES = bytes(b if chr(b).isalnum() or b == ord("_") else 32 for b in range(128)) + b" " * 128
ENDINGS = ("", "s", "es", "a", "e", "o", "as", "os")


def words(text: str) -> str:
    """A text folded, with punctuation as spaces and a space at both ends: `" linea mujeres "`."""
    return " " + fold(text).encode("ascii", "ignore").translate(_SPACES).decode("ascii") + " "


def stem(term: str) -> str:
    """A light Spanish stemmer for query terms: `mujeres` -> `mujer`, `calles` -> `call`, `metro` -> `metr`.

    A term then matches a word equal to its stem plus one of ENDINGS, so singular and plural, masculine
    and feminine forms find each other while `metro` does not find `metrobus`.
    """
    if len(term) > 3:
        term = term.rstrip("s")
    if len(term) > 4 and term[-1] in "aeo":
        term = term[:-1]
    return term


def occurrences(text: str, term: str) -> int:
    """How often a stemmed term occurs as a word of a `words()` text."""
    return sum(text.count(f" {term}{ending} ") for ending in ENDINGS)


def millis(value: str | None) -> str:
    """A stored CKAN timestamp cut to the millisecond, comparable as a string ("" when missing)."""
    if not value:
        return ""
    value = value.rstrip("Z")
    if len(value) >= 20 and value[19] == ".":
        return value[:23].ljust(23, "0")
    return value[:19] + ".000"


def parse_date(text: str) -> str:
    """A Solr date bound (ISO with a trailing Z, or NOW with date math) as a millisecond string; `*` stays."""
    if text == "*":
        return "*"
    math = _DATE_MATH.fullmatch(text)
    if math:
        moment = datetime.now(timezone.utc).replace(tzinfo=None)
        for amount, unit in _MATH_STEP.findall(math.group(1)):
            moment += timedelta(seconds=int(amount) * _UNIT_SECONDS[unit])
        if math.group(2):
            moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    if not _DATE.fullmatch(text):
        raise SearchError(f"Invalid Date String:'{text}'")
    try:
        parsed = datetime.fromisoformat(text[:19])
    except ValueError:
        raise SearchError(f"Invalid Date String:'{text}'") from None
    fraction = (text[20:-1] if len(text) > 20 else "").ljust(3, "0")[:3]
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + fraction


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
        stamp = millis(dataset.get(name))
        return [stamp] if stamp else []
    value = dataset.get(name)
    return [str(value)] if value not in (None, "") else []


Predicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class Clause:
    """One `[+-]field:value` clause. `low`/`high` are set for date ranges (millisecond strings or `*`)."""

    field: str
    negate: bool
    test: Predicate
    low: str | None = None
    high: str | None = None
    inclusive: bool = True


def split_clauses(text: str) -> list[str]:
    """Split on whitespace outside quotes, brackets, braces and parentheses."""
    tokens: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
            continue
        if char == "\\":
            escaped = True
            current.append(char)
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "([{":
            depth += 1
        elif not quoted and char in ")]}":
            depth = max(0, depth - 1)
        if char.isspace() and not quoted and depth == 0:
            if current:
                tokens.append("".join(current))
                current = []
            continue
        current.append(char)
    if quoted or depth:
        raise SearchError(f"Cannot parse '{text}': unbalanced quotes or brackets")
    if current:
        tokens.append("".join(current))
    return tokens


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return re.sub(r"\\(.)", r"\1", text)


def _range(name: str, negate: bool, value: str) -> Clause:
    """[LO TO HI] inclusive, {LO TO HI} exclusive; mixed forms like {LO TO HI] too, as Solr allows."""
    low_inclusive, high_inclusive = value[0] == "[", value[-1] == "]"
    if value[-1] not in "]}":
        raise SearchError(f"Cannot parse range '{value}'")
    parts = re.split(r"\s+TO\s+", value[1:-1].strip())
    if len(parts) != 2:
        raise SearchError(f"Cannot parse range '{value}'")
    if name in DATE_FIELDS:
        low, high = parse_date(parts[0].strip()), parse_date(parts[1].strip())
    else:
        low, high = (_unquote(p.strip()) for p in parts)

    def in_range(dataset: dict[str, Any]) -> bool:
        for v in field_values(dataset, name):
            above = low == "*" or (v >= low if low_inclusive else v > low)
            below = high == "*" or (v <= high if high_inclusive else v < high)
            if above and below:
                return True
        return False
    if name in DATE_FIELDS:
        return Clause(name, negate, in_range, low, high, low_inclusive and high_inclusive)
    return Clause(name, negate, in_range)


PUBLIC_ONLY = Clause("capacity", True, lambda dataset: bool(dataset.get("private")))
"""What CKAN adds to every anonymous search: private datasets are left out."""


def parse_clause(token: str, negate: bool = False) -> Clause:
    """One `[+-]field:value` token: value, "quoted value", [LO TO HI], {LO TO HI} or (a OR b OR "c d")."""
    if token[:1] in "+-":
        negate = negate != (token[0] == "-")
        token = token[1:]
    if ":" not in token:
        raise SearchError(f"Cannot parse '{token}': expected field:value")
    name, value = token.split(":", 1)
    if name not in TEXT_FIELDS and name not in DATE_FIELDS:
        # CKAN's schema.xml indexes any field (`<dynamicField name="*">`): an unknown one matches nothing
        return Clause(name, negate, lambda dataset: False)
    if not value:
        raise SearchError(f"Cannot parse '{token}': empty value")
    if value[0] in "[{":
        return _range(name, negate, value)
    if value.startswith("(") and value.endswith(")"):
        inner = [o for o in split_clauses(value[1:-1]) if o not in ("OR", "||")]
        if not inner:
            raise SearchError(f"Cannot parse '{token}': empty list")
        options = {_unquote(o) for o in inner}
    else:
        options = {_unquote(value)}
    if name in DATE_FIELDS:
        options = {o if o == "*" else parse_date(o) for o in options}
    wildcard = "*" in options
    if name == "title":  # a text field: every word of one of the values must be in the title
        wanted = [[stem(w) for w in words(o).split()] for o in options if o != "*" and words(o).strip()]

        def title_matches(dataset: dict[str, Any]) -> bool:
            text = words(str(dataset.get("title") or ""))
            return (wildcard and text.strip() != "") or any(all(occurrences(text, w) for w in ws) for ws in wanted)
        return Clause(name, negate, title_matches)

    def matches(dataset: dict[str, Any]) -> bool:
        values = field_values(dataset, name)
        return any(v in options for v in values) or (wildcard and bool(values))
    return Clause(name, negate, matches)


def parse_filters(text: str) -> list[Clause]:
    """All clauses of an fq (ANDed). Raises QueryError on unknown fields or unparsable values."""
    clauses: list[Clause] = []
    negate_next = False
    for token in split_clauses(text or ""):
        if token in ("AND", "&&", "+"):
            continue
        if token in ("NOT", "-", "!"):
            negate_next = True
            continue
        if token == "*:*":
            continue
        clauses.append(parse_clause(token, negate_next))
        negate_next = False
    return clauses


def matches_all(dataset: dict[str, Any], clauses: list[Clause]) -> bool:
    return all(c.test(dataset) != c.negate for c in clauses)


def search_text(dataset: dict[str, Any]) -> tuple[str, str]:
    """(title words, all searchable words) of a dataset, in the form `words()` gives."""
    org = dataset.get("organization") or {}
    parts = [dataset.get("title") or "", dataset.get("notes") or "", org.get("title") or "", org.get("name") or "",
             " ".join(field_values(dataset, "tags")), " ".join(field_values(dataset, "groups")),
             " ".join(str(r.get("name") or "") for r in dataset.get("resources") or [])]
    return words(str(dataset.get("title") or "")), words(" ".join(str(p) for p in parts))


def parse_query(q: str) -> tuple[list[Clause], list[str]]:
    """Fielded clauses and folded free-text terms of q; empty or `*:*` means everything."""
    q = (q or "").strip()
    if q in ("", "*:*", "*"):
        return [], []
    clauses: list[Clause] = []
    terms: list[str] = []
    negate_next = False
    for token in split_clauses(q):
        if token in ("AND", "OR", "&&", "||", "+"):
            continue
        if token in ("NOT", "-"):
            negate_next = True
            continue
        head = token.lstrip("+-").split(":", 1)[0]
        if ":" in token and head.isidentifier() and token != "*:*":
            clauses.append(parse_clause(token, negate_next))
        else:
            terms.extend(stem(w) for w in words(token).split())
        negate_next = False
    return clauses, terms


def score(title: str, text: str, terms: list[str]) -> float:
    """0 when a term is missing; else matches in all fields, title matches weighted TITLE_WEIGHT more."""
    total = 0.0
    for term in terms:
        found = occurrences(text, term)
        if not found:
            return 0.0
        total += found + TITLE_WEIGHT * occurrences(title, term)
    return total


def parse_sort(text: str | None) -> list[tuple[str, bool]]:
    """[(field, descending)]; CKAN's default is `score desc, metadata_modified desc`."""
    text = (text or DEFAULT_SORT).strip()
    keys = []
    for part in text.split(","):
        bits = part.split()
        if not bits:
            continue
        name = bits[0]
        direction = bits[1].lower() if len(bits) > 1 else ""
        # any field name is accepted, as CKAN's schema.xml indexes every field (`<dynamicField name="*">`)
        if direction not in ("asc", "desc") or len(bits) > 2:
            raise QueryError(f"Can't determine a Sort Order ({part.strip()}) in sort spec '{text}'")
        keys.append((name, direction == "desc"))
    if not keys:
        raise QueryError(f"Can't determine a Sort Order in sort spec '{text}'")
    return keys


def sort_key(dataset: dict[str, Any], name: str, relevance: float) -> Any:
    if name == "score":
        return relevance
    if name in DATE_FIELDS:
        return millis(dataset.get(name))
    if name == "title_string":
        return str(dataset.get("title") or "")
    return str(dataset.get(name) or "")


def window(order: list[tuple[str, str]], datasets: dict[str, dict[str, Any]], clauses: list[Clause],
           start: int, rows: int) -> tuple[int, list[str]]:
    """Search in the common harvesting shape (sort metadata_modified asc, id asc; a date window): bisect the
    (metadata_modified at ms, id) order instead of scanning. Returns (count, the ids of the page)."""
    low, high, ranged = "", "\uffff", False
    rest = []
    for c in clauses:
        if c.field == "metadata_modified" and c.low is not None and not c.negate and c.inclusive:
            ranged = True
            low = max(low, "" if c.low == "*" else c.low)
            high = min(high, "\uffff" if c.high == "*" else str(c.high))
        else:
            rest.append(c)
    if ranged:
        low = max(low, "0")  # datasets without a date sort first with "" and never match a range
    lo, hi = bisect.bisect_left(order, (low, "")), bisect.bisect_right(order, (high, "\uffff"))
    if not rest:
        first = lo + start
        return max(0, hi - lo), [i for _, i in order[first:min(hi, first + rows)]] if rows > 0 else []
    hits = [i for _, i in order[lo:hi] if matches_all(datasets[i], rest)]
    return len(hits), hits[start:start + rows] if rows > 0 else []


def rank(datasets: dict[str, dict[str, Any]], clauses: list[Clause], terms: list[str], sort: list[tuple[str, bool]],
         text_of: Callable[[str], tuple[str, str]]) -> list[str]:
    """Search in general: filter, score free-text terms, sort. Returns the ids of every hit, in order."""
    scored: list[tuple[dict[str, Any], float]] = []
    for dataset_id, dataset in datasets.items():
        if clauses and not matches_all(dataset, clauses):
            continue
        relevance = 1.0
        if terms:
            relevance = score(*text_of(dataset_id), terms)
            if not relevance:
                continue
        scored.append((dataset, relevance))
    for name, descending in reversed(sort):
        scored.sort(key=lambda pair: sort_key(pair[0], name, pair[1]), reverse=descending)
    return [d["id"] for d, _ in scored]
