"""A theme's candidate datasets, for organizers: why each matched, its scores, and each quality gate.

Matching is case- and accent-insensitive over titles, descriptions, tags, groups, organizations and the
column names of profiled tables; a term (or one of its synonyms) matches at the start of a word, so
`mujer` finds `mujeres`. Organizations and groups named by the profile bring all their datasets;
`include` adds a dataset whatever it says, `exclude` keeps one out whatever it matches.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from harvester.model import CandidateScores, DatasetText, Scores
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


def _fields(text: DatasetText) -> dict[str, str]:
    row = text.dataset
    return {"title": normalize(row.title or row.name or ""),
            "description": normalize(row.notes or ""),
            "tags": normalize(" | ".join(row.tags)),
            "groups": normalize(" | ".join(row.groups)),
            "organization": normalize(f"{row.organization_name or ''} | {row.organization_title or ''}"),
            "columns": normalize(" | ".join(text.columns)).replace("_", " ")}


def find_candidates(store: Store, theme: Theme,
                    known: dict[tuple[str, str], Scores] | None = None) -> list[Candidate]:
    """Every dataset the theme brings in, gated and ranked: accepted first, then by relevance and MQA.
    `known`: scores already computed (`all_scores`), by (catalog, dataset id)."""
    patterns = {term: _pattern(words) for term, words in theme.terms.items()}
    organizations = {normalize(o) for o in theme.organizations}
    groups = {normalize(g) for g in theme.groups}
    matches = []
    for text in store.dataset_texts(theme.catalogs):
        row = text.dataset
        ref = row.ref
        texts = _fields(text)
        matched = {f: sorted(t for t, p in patterns.items() if p.search(texts[f])) for f in theme.fields}
        matched = {f: terms for f, terms in matched.items() if terms}
        terms = {t for ts in matched.values() for t in ts}
        reasons = []
        if len(terms) >= theme.min_terms:
            reasons.append("matches " + ", ".join(sorted(terms)))
        if ref in theme.include:
            reasons.append("included by the organizers")
        if organizations & {normalize(row.organization_name or ""), normalize(row.organization_title or "")}:
            reasons.append(f"published by {row.organization}")
        in_groups = groups & {normalize(g) for g in row.groups}
        if in_groups:
            reasons.append("in group " + ", ".join(sorted(in_groups)))
        if reasons:
            matches.append((row, ref, matched, reasons))
    if known is None:  # the matched datasets' scores, a few queries for all of them
        known = all_scores(store, [(row.catalog_id, row.remote_id) for row, *_ in matches])
    found: list[Candidate] = []
    for row, ref, matched, reasons in matches:
        scores = known.get((row.catalog_id, row.remote_id)) or dataset_scores(store, row.catalog_id, row.remote_id)
        candidate = Candidate(
            catalog=row.catalog_id, dataset=row.name, remote_id=row.remote_id, title=row.title or "",
            organization=row.organization,
            relevance=sum(WEIGHTS[f] * len(ts) for f, ts in matched.items()), matched=matched, reasons=reasons,
            scores=CandidateScores.of(scores), excluded=ref in theme.exclude)
        candidate.gates = gates(theme, candidate.scores, scores)
        if candidate.excluded:
            candidate.reasons.append("excluded by the organizers")
        found.append(candidate)
    found.sort(key=lambda c: (not c.accepted, c.excluded, -c.relevance, -(c.scores.mqa or 0), c.ref))
    return found


def gates(theme: Theme, summary: CandidateScores, scores: Scores) -> list[Gate]:
    """Each of the theme's quality gates, passed or not, and why."""
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
        open_licence = bool(OPEN_LICENCES.match(scores.license_id or ""))
        if g.openness == "open-licence":
            out.append(Gate("openness", open_licence, "open licence" if open_licence else
                            f"licence {scores.license_id or 'not given'} is not an open one"))
        else:
            missing = ([] if open_licence else [f"an open licence (has {scores.license_id or 'none'})"]) + \
                      ([] if summary.stars >= TABULAR_STARS else [f"a 3-star resource (best {summary.stars})"]) + \
                      ([] if summary.validated_tables else ["a table that could be validated"])
            out.append(Gate("openness", not missing, "open licence and a machine-readable table" if not missing
                            else "needs " + ", ".join(missing)))
    return out
