"""The publishers, as the strategic allies of a datathon (step 1 of INFO CDMX's method: "identify data,
strategic allies and social problems"): per publisher, its datasets across catalogs, their quality, what is
wrong with them (broken links, no licence or a licence that is not open, stale data, tables that do not
validate), its contact points, and a message an organizer can send it, in Spanish, listing what to fix.

A publisher is an organization title, whatever catalog publishes it: the same secretaría on the city's
portal and on the federal one is one ally (its ids per catalog are kept). A dataset with no organization
is its catalog's. Everything here is computed from `Store.publisher_facts` (one query) and the site's
`DatasetRow`s (scores, freshness, validation), so it costs nothing per dataset page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable, Protocol

from harvester.linkstatus import LinkStatus
from harvester.model import BrokenLink, DatasetCopy, PublisherFacts
from harvester.scores import OPEN_LICENCES
from harvester.text import normalize


class ScoredRow(Protocol):
    """What the site knows of a dataset (report.DatasetRow)."""

    ref: str
    page: str
    mqa_total: float
    mqa_band: str
    verdict: str
    age_days: int | None
    tables: int
    valid_tables: int


@dataclass(frozen=True)
class AllyDataset:
    ref: str
    title: str
    catalog_id: str
    page: str | None
    licence: str | None
    open_licence: bool
    broken: tuple[BrokenLink, ...]
    verdict: str
    """fresh, stale or unknown (scores.freshness)."""
    age_days: int | None
    mqa_band: str | None
    mqa_total: float | None
    tables: int
    valid_tables: int
    also_in: tuple[str, ...] = ()
    """The copies of it in other catalogs (store/copies.py), counted and listed here once, as this one."""

    @property
    def problems(self) -> int:
        return (bool(self.broken) + (not self.open_licence) + (self.verdict == "stale")
                + (self.valid_tables < self.tables))


@dataclass(frozen=True)
class Ally:
    slug: str
    """Its page: `aliados/<slug>.html`."""
    name: str
    ids: tuple[tuple[str, str], ...]
    """(catalog, organization id) wherever it publishes."""
    contacts: tuple[tuple[str | None, str | None], ...]
    datasets: tuple[AllyDataset, ...]

    @property
    def page(self) -> str:
        return f"allies/{self.slug}.html"

    @property
    def catalogs(self) -> tuple[str, ...]:
        return tuple(sorted({d.catalog_id for d in self.datasets}))

    @property
    def broken(self) -> tuple[AllyDataset, ...]:
        return tuple(d for d in self.datasets if d.broken)

    @property
    def unlicensed(self) -> tuple[AllyDataset, ...]:
        return tuple(d for d in self.datasets if not d.open_licence)

    @property
    def stale(self) -> tuple[AllyDataset, ...]:
        return tuple(d for d in self.datasets if d.verdict == "stale")

    @property
    def invalid(self) -> tuple[AllyDataset, ...]:
        return tuple(d for d in self.datasets if d.valid_tables < d.tables)

    @property
    def emails(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e for _, e in self.contacts if e))


def name_key(title: str) -> str:
    """What two spellings of one publisher's name have in common (case, accents, punctuation set aside)."""
    return re.sub(r"[^a-z0-9]+", " ", normalize(title)).strip()


def ally_slug(name: str) -> str:
    """A publisher's page name: its title in lower case ASCII words joined by dashes, bounded."""
    slug = re.sub(r"[^a-z0-9]+", "-", normalize(name)).strip("-")[:80].strip("-")
    return slug or "sin-nombre"


def gather(facts: Iterable[PublisherFacts], rows: dict[str, ScoredRow],
           copies: Iterable[DatasetCopy] = ()) -> list[Ally]:
    """The publishers of these datasets (`rows`: the site's row of each dataset by ref, for its scores),
    by name; each dataset once (a copy is left out, the one kept says where else it is: `copies`), its
    problems first."""
    return with_rows(_grouped(facts, copies), rows)


def _grouped(facts: Iterable[PublisherFacts], copies: Iterable[DatasetCopy]) -> list[Ally]:
    """The publishers and their pages, each dataset with its store facts only (no scores yet)."""
    copies = [c for c in copies if c.reason != "similar_metadata"]
    gone = {(c.catalog_id, c.dataset_id) for c in copies}
    elsewhere: dict[tuple[str, str], list[str]] = {}
    for c in copies:
        elsewhere.setdefault((c.of_catalog_id, c.of_dataset_id), []).append(c.ref)
    grouped: dict[str, tuple[str, list[tuple[str, str]], list[tuple[str | None, str | None]], list[AllyDataset]]] = {}
    for f in facts:
        if (f.catalog_id, f.remote_id) in gone:
            continue
        name = (f.organization_title or f.organization_name or "").strip() or f"{f.catalog_id} (sin organización)"
        _, ids, contacts, datasets = grouped.setdefault(name_key(name) or name, (name, [], [], []))
        if f.organization_name and (f.catalog_id, f.organization_name) not in ids:
            ids.append((f.catalog_id, f.organization_name))
        contacts += [c for c in f.contacts if c not in contacts]
        datasets.append(AllyDataset(
            ref=f.ref, title=f.title or f.name or f.remote_id, catalog_id=f.catalog_id, page=None,
            licence=f.licence, open_licence=bool(OPEN_LICENCES.match(f.license_id or "")), broken=f.broken,
            verdict="unknown", age_days=None, mqa_band=None, mqa_total=None, tables=0, valid_tables=0,
            also_in=tuple(sorted(elsewhere.get((f.catalog_id, f.remote_id), ())))))
    allies, taken = [], set()
    for _, (name, ids, contacts, datasets) in sorted(grouped.items()):
        slug, n = ally_slug(name), 2
        while slug in taken:
            slug, n = f"{ally_slug(name)}-{n}", n + 1
        taken.add(slug)
        allies.append(Ally(slug, name, tuple(sorted(ids)), tuple(contacts), tuple(datasets)))
    return allies


def with_rows(found: Iterable[Ally], rows: dict[str, ScoredRow]) -> list[Ally]:
    """The publishers with each dataset's scores, freshness and validation from the site's rows (a dataset
    without a row keeps none), its datasets with problems first. The grouping and pages are `found`'s."""
    out = []
    for ally in found:
        datasets = [d if (row := rows.get(d.ref)) is None else replace(
            d, page=row.page, verdict=row.verdict, age_days=row.age_days, mqa_band=row.mqa_band,
            mqa_total=row.mqa_total, tables=row.tables, valid_tables=row.valid_tables) for d in ally.datasets]
        datasets.sort(key=lambda d: (-d.problems, d.title.lower(), d.ref))
        out.append(replace(ally, datasets=tuple(datasets)))
    return out


def pages_by_ref(found: Iterable[Ally]) -> dict[str, str]:
    """Each dataset's publisher page, its copies' too."""
    pages = {}
    for ally in found:
        for d in ally.datasets:
            for ref in (d.ref, *d.also_in):
                pages[ref] = ally.page
    return pages


def _days(days: int | None) -> str:
    if days is None:
        return "sin fecha de actualización"
    if days >= 730:
        return f"sin cambios desde hace {days // 365} años"
    if days >= 60:
        return f"sin cambios desde hace {days // 30} meses"
    return f"sin cambios desde hace {days} días"


LINK_WHY = {
    LinkStatus.NOT_FOUND: "no se encuentra", LinkStatus.SERVER_ERROR: "el servidor responde con un error",
    LinkStatus.HTTP_ERROR: "el servidor rechaza la descarga", LinkStatus.TIMEOUT: "no responde a tiempo",
    LinkStatus.TOO_LARGE: "excede el tamaño que descargamos",
    LinkStatus.REFUSED: "lo rechazan nuestras revisiones de seguridad",
    LinkStatus.UNREACHABLE: "no se puede conectar con el servidor",
    LinkStatus.HTML_PAGE: "se recibe una página web en lugar del archivo"}
"""Why a link fails, as the message to its publisher says it (every failing status: tests/test_allies.py)."""


def _why(link: BrokenLink) -> str:
    status = LINK_WHY.get(link.status, link.status)  # type: ignore[call-overload]  # LinkStatus hashes as its str
    return f"{status} (HTTP {link.http_status})" if link.http_status and link.http_status >= 400 else status


def request_text(ally: Ally, theme: str | None = None) -> str:
    """The message an organizer can send the publisher (Spanish): what was found and what to fix, with each
    dataset named; empty of requests when nothing is wrong (then it thanks them)."""
    who = ", ".join(n for n, _ in ally.contacts if n) or f"equipo de {ally.name}"
    event = f"el datatón «{theme}»" if theme else "un datatón"
    lines = [f"Asunto: Datos abiertos de {ally.name} para {event}", "", f"Hola, {who}:", "",
             f"Estamos preparando {event} con el Instituto de Transparencia de la Ciudad de México (INFO CDMX) y "
             f"revisamos los {len(ally.datasets)} conjuntos de datos que publican en "
             f"{', '.join(ally.catalogs)}."]
    sections = [
        ("Enlaces que no descargan el archivo", ally.broken,
         lambda d: "; ".join(f"«{b.resource}»: {_why(b)}" for b in d.broken)),
        ("Sin licencia abierta (los equipos no pueden reutilizarlos con certeza)", ally.unlicensed,
         lambda d: f"licencia: {d.licence}" if d.licence else "sin licencia"),
        ("Datos que parecen desactualizados", ally.stale, lambda d: _days(d.age_days)),
        ("Tablas con errores de formato", ally.invalid,
         lambda d: f"{d.tables - d.valid_tables} de {d.tables} tablas no pasan la validación"),
    ]
    found = [(title, items, detail) for title, items, detail in sections if items]
    if not found:
        lines += ["", "No encontramos problemas: gracias por mantenerlos en buen estado. Nos gustaría invitarles a "
                      "participar como aliados del datatón."]
    else:
        lines += ["", "Encontramos lo siguiente, que impide a los equipos usarlos bien:"]
        for title, items, detail in found:
            lines += ["", f"{title} ({len(items)}):"]
            lines += [f"- «{d.title}» ({d.ref}): {detail(d)}" for d in items]
        lines += ["", "¿Podrían revisarlo antes del datatón? Con gusto les compartimos el detalle de cada archivo. "
                      "También nos gustaría invitarles a participar como aliados."]
    lines += ["", "Saludos cordiales,", "El equipo organizador"]
    return "\n".join(lines) + "\n"
