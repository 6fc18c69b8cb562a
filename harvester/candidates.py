"""A theme's candidate datasets, for organizers: why each matched, its scores, and each quality gate.

Matching is case- and accent-insensitive over titles, descriptions, tags, groups, organizations and the
column names of profiled tables; a term (or one of its synonyms) matches at the start of a word, so
`mujer` finds `mujeres`. Organizations and groups named by the profile bring all their datasets;
`include` adds a dataset whatever it says, `exclude` keeps one out whatever it matches.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable

from harvester.model import CandidateScores, Dataset, DatasetCopy, Scores, published_elsewhere
from harvester.scores import OPEN_LICENCES, all_scores, dataset_scores
from harvester.text import normalize, stem
from harvester.store import Store
from harvester.themes import Theme

WEIGHTS = {"title": 3, "tags": 2, "groups": 2, "organization": 1, "description": 1, "columns": 1}
TABULAR_STARS = 3


@dataclass
class Gate:
    name: str
    passed: bool
    why: str


@dataclass
class Candidate:
    catalog: str
    dataset: str | None
    remote_id: str
    title: str
    organization: str | None
    relevance: int
    matched: dict[str, list[str]]
    """field -> the profile's terms found there."""
    reasons: list[str]
    scores: CandidateScores
    gates: list[Gate] = field(default_factory=list)
    excluded: bool = False
    also_published: tuple[str, ...] = ()
    """Where else the same dataset is published (`catalog/name` of its copies, not candidates themselves)."""

    @property
    def ref(self) -> str:
        return f"{self.catalog}/{self.dataset}"

    @property
    def accepted(self) -> bool:
        return not self.excluded and all(g.passed for g in self.gates)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ref": self.ref, "accepted": self.accepted}


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(re.escape(stem(w)) for w in words) + ")")


def texts_of(dataset: Dataset, columns: Iterable[str]) -> dict[str, str]:
    """What a theme matches on, folded: the dataset's fields and its profiled column names."""
    return {"title": normalize(dataset.title or dataset.name or ""),
            "description": normalize(dataset.notes or ""),
            "tags": normalize(" | ".join(dataset.tags)),
            "groups": normalize(" | ".join(dataset.groups)),
            "organization": normalize(f"{dataset.organization_name or ''} | {dataset.organization_title or ''}"),
            "columns": normalize(" | ".join(columns)).replace("_", " ")}


class Matcher:
    """A theme's matching, one dataset at a time: whether the theme brings it in, and why; then the
    candidate with its scores and gates. `find_candidates` runs it over the store; the site runs it over
    the datasets it reads and scores anyway."""

    def __init__(self, theme: Theme) -> None:
        self.theme = theme
        self.patterns = {term: _pattern(words) for term, words in theme.terms.items()}
        self.organizations = {normalize(o) for o in theme.organizations}
        self.groups = {normalize(g) for g in theme.groups}
        self.catalogs = set(theme.catalogs)

    def wants(self, catalog_id: str) -> bool:
        return not self.catalogs or catalog_id in self.catalogs

    def match(self, row: Dataset, texts: dict[str, str]) -> Match | None:
        """Why the theme brings `row` in (its fields `texts`, from `texts_of`), or None."""
        theme = self.theme
        ref = row.ref
        matched = {f: sorted(t for t, p in self.patterns.items() if p.search(texts[f])) for f in theme.fields}
        matched = {f: terms for f, terms in matched.items() if terms}
        terms = {t for ts in matched.values() for t in ts}
        reasons = []
        if len(terms) >= theme.min_terms:
            reasons.append("matches " + ", ".join(sorted(terms)))
        if ref in theme.include:
            reasons.append("included by the organizers")
        if self.organizations & {normalize(row.organization_name or ""), normalize(row.organization_title or "")}:
            reasons.append(f"published by {row.organization}")
        in_groups = self.groups & {normalize(g) for g in row.groups}
        if in_groups:
            reasons.append("in group " + ", ".join(sorted(in_groups)))
        return Match(matched, reasons) if reasons else None

    def candidate(self, catalog_id: str, remote_id: str, name: str | None, title: str | None,
                  organization: str | None, found: Match, summary: CandidateScores,
                  license_id: str | None) -> Candidate:
        """The candidate a match makes, with its scores (`CandidateScores.of`) and the theme's gates."""
        theme = self.theme
        candidate = Candidate(
            catalog=catalog_id, dataset=name, remote_id=remote_id, title=title or "", organization=organization,
            relevance=sum(WEIGHTS[f] * len(ts) for f, ts in found.matched.items()), matched=found.matched,
            reasons=list(found.reasons), scores=summary, excluded=f"{catalog_id}/{name}" in theme.exclude)
        candidate.gates = gates(theme, summary, license_id)
        if candidate.excluded:
            candidate.reasons.append("excluded by the organizers")
        return candidate


@dataclass(frozen=True)
class Match:
    matched: dict[str, list[str]]
    """field -> the profile's terms found there."""
    reasons: list[str]


def ranked(found: list[Candidate]) -> list[Candidate]:
    """Accepted first, then by relevance and MQA (a stable sort: ties keep their order)."""
    return sorted(found, key=lambda c: (not c.accepted, c.excluded, -c.relevance, -(c.scores.mqa or 0), c.ref))


def once(candidates: list[Candidate], copies: list[DatasetCopy]) -> list[Candidate]:
    """Each dataset once: a candidate that is a copy of another candidate (store/copies.py: the same portal
    harvested as two catalogs, the same files republished) is left out, and the one kept names where else it
    is published. A copy whose kept dataset the theme does not bring in stays."""
    present = {(c.catalog, c.remote_id) for c in candidates}
    left_out = [c for c in copies if (c.catalog_id, c.dataset_id) in present
                and (c.of_catalog_id, c.of_dataset_id) in present]
    gone = {(c.catalog_id, c.dataset_id) for c in left_out}
    elsewhere = published_elsewhere(left_out)
    return [replace(c, also_published=tuple(x.ref for x in elsewhere.get((c.catalog, c.remote_id), ())))
            for c in candidates if (c.catalog, c.remote_id) not in gone]


def unknown_refs(store: Store, theme: Theme) -> list[str]:
    """The profile's `include` and `exclude` refs that name no current harvested dataset (a typo, a dataset
    renamed or removed upstream, a catalog not harvested): said, never ignored in silence."""
    known = {f"{c}/{x}" for c, i, n in store.current_dataset_refs() for x in (i, n)}
    return [f"{key} {ref}" for key, refs in (("include", theme.include), ("exclude", theme.exclude))
            for ref in refs if ref not in known]


def find_candidates(store: Store, theme: Theme,
                    known: dict[tuple[str, str], Scores] | None = None) -> list[Candidate]:
    """Every dataset the theme brings in, gated and ranked: accepted first, then by relevance and MQA.
    `known`: scores already computed (`all_scores`), by (catalog, dataset id)."""
    matcher = Matcher(theme)
    matches = []
    for text in store.dataset_texts(theme.catalogs):
        found = matcher.match(text.dataset, texts_of(text.dataset, text.columns))
        if found is not None:
            matches.append((text.dataset, found))
    if known is None:  # the matched datasets' scores, a few queries for all of them
        known = all_scores(store, [(row.catalog_id, row.remote_id) for row, _ in matches])
    found_candidates = []
    for row, found in matches:
        scores = known.get((row.catalog_id, row.remote_id)) or dataset_scores(store, row.catalog_id, row.remote_id)
        found_candidates.append(matcher.candidate(row.catalog_id, row.remote_id, row.name, row.title,
                                                  row.organization, found, CandidateScores.of(scores),
                                                  scores.license_id))
    return ranked(once(found_candidates, store.dataset_copies()))


def gates(theme: Theme, summary: CandidateScores, license_id: str | None) -> list[Gate]:
    """Each of the theme's quality gates, passed or not, and why (`license_id`: the dataset's licence)."""
    g = theme.gates
    out = [Gate("min_mqa", summary.mqa >= g.min_mqa, f"MQA {summary.mqa} of 405, at least {g.min_mqa} wanted"),
           Gate("min_stars", summary.stars >= g.min_stars,
                f"best resource has {summary.stars} stars, at least {g.min_stars} wanted")]
    if g.require_valid:
        ok = summary.validated_tables > 0 and summary.valid_tables == summary.validated_tables
        out.append(Gate("require_valid", ok, f"{summary.valid_tables} of {summary.validated_tables} "
                                            "validated tables valid"))
    if g.max_errors is not None:
        out.append(Gate("max_errors", summary.validated_tables > 0 and summary.errors <= g.max_errors,
                        f"{summary.errors} validation errors over {summary.validated_tables} tables, "
                        f"at most {g.max_errors} allowed" if summary.validated_tables else "no validated table"))
    if g.max_age_days is not None:
        age = summary.age_days
        out.append(Gate("max_age_days", age is not None and age <= g.max_age_days,
                        f"last changed {age} days ago, at most {g.max_age_days} allowed" if age is not None
                        else "no modification date"))
    if g.openness != "any":
        open_licence = bool(OPEN_LICENCES.match(license_id or ""))
        if g.openness == "open-licence":
            out.append(Gate("openness", open_licence, "open licence" if open_licence else
                            f"licence {license_id or 'not given'} is not an open one"))
        else:
            missing = ([] if open_licence else [f"an open licence (has {license_id or 'none'})"]) + \
                      ([] if summary.stars >= TABULAR_STARS else [f"a 3-star resource (best {summary.stars})"]) + \
                      ([] if summary.validated_tables else ["a table that could be validated"])
            out.append(Gate("openness", not missing, "open licence and a machine-readable table" if not missing
                            else "needs " + ", ".join(missing)))
    return out
