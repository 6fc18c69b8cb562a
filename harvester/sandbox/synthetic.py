"""A generated CKAN catalog of any size, deterministic from a seed, for scale tests and benchmarks.

Built for speed (50,000 datasets in a few seconds): ids come from the seeded generator, timestamps are
formatted once per dataset, and tag, group and organization dicts are shared between datasets (the
portal copies a dataset before changing it).
"""
from __future__ import annotations

import gc
import math
import random
from datetime import datetime, timedelta
from typing import Any

from harvester.sandbox.sites import SANDBOX, make_id, stamp

WORDS = ("movilidad transporte metro metrobús bicicleta seguridad víctimas mujeres género violencia cuidados "
         "guarderías salud escuelas presupuesto obras agua aire árboles mercados población empleo vivienda "
         "colonias alcaldías calles tránsito denuncias llamadas atención programas apoyos padrón").split()
THEMES = ("Afluencia", "Padrón", "Inventario", "Registro", "Directorio", "Indicadores", "Reportes", "Catálogo",
          "Encuesta", "Atenciones", "Solicitudes", "Incidentes")
FORMATS = ("CSV", "CSV", "CSV", "csv", ".csv", "text/csv", "XLSX", "JSON", "GeoJSON", "ZIP", "PDF", "SHP", "")
EXTENSIONS = {"": "bin", "text/csv": "csv", "GeoJSON": "geojson", "SHP": "zip"}
MIMETYPES = {"CSV": "text/csv", "JSON": "application/json", "PDF": "application/pdf", "ZIP": "application/zip"}
LICENSES = (("cc-by-4.0", "Creative Commons Attribution 4.0"), ("cc-by-4.0", "Creative Commons Attribution 4.0"),
            ("cc-by-4.0", "Creative Commons Attribution 4.0"), ("odc-odbl", "Open Data Commons ODbL"), ("", ""))
FREQUENCIES = ("R/P1D", "R/P1W", "R/P1M", "R/P3M", "R/P1Y", "irregular")
GROUPS = ("movilidad", "seguridad", "genero", "cuidados", "salud", "finanzas", "medio-ambiente", "educacion")
START = datetime(2015, 1, 1)
SPAN = int((datetime(2026, 10, 1) - START).total_seconds())
LATEST = datetime(2026, 10, 31, 23, 59, 59)  # nothing modified in the future
ORGANIZATIONS = 60
STRIDES = tuple(s for s in range(1, len(WORDS)) if math.gcd(s, len(WORDS)) == 1)


def _uuid4(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def organizations(rng: random.Random) -> list[dict[str, Any]]:
    orgs = []
    for i in range(ORGANIZATIONS):
        title = f"Organización {i:02d} de {rng.choice(WORDS).capitalize()}"
        orgs.append({"id": make_id("synthetic-org", str(i)), "name": f"organizacion-{i:02d}", "title": title,
                     "type": "organization", "description": f"{title}: dependencia que publica datos abiertos.",
                     "image_url": "", "created": "2016-01-01T00:00:00.000000", "is_organization": True,
                     "approval_status": "approved", "state": "active"})
    return orgs


def _picks(rand: Any, count: int) -> list[str]:
    """`count` distinct words: a random start and a stride coprime with len(WORDS) (cheaper than sample)."""
    start, stride = int(rand() * len(WORDS)), STRIDES[int(rand() * len(STRIDES))]
    return [WORDS[(start + j * stride) % len(WORDS)] for j in range(count)]


def generate(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """`count` package dicts: 2-4 resources, 3-8 tags, one of 60 organizations, extras, timestamps over years."""
    enabled = gc.isenabled()
    gc.disable()  # millions of young objects, none of them garbage: collections only cost time
    try:
        return _generate(count, seed)
    finally:
        if enabled:
            gc.enable()


def _generate(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rand = rng.random
    orgs = organizations(rng)
    tags = {w: {"id": make_id("tag", w), "name": w, "display_name": w, "state": "active", "vocabulary_id": None}
            for w in WORDS}
    groups = {g: {"id": make_id("group", g), "name": g, "title": g.replace("-", " ").capitalize(),
                  "display_name": g.replace("-", " ").capitalize(), "description": "", "image_display_url": ""}
              for g in GROUPS}
    datasets = []
    for i in range(count):
        dataset_id = _uuid4(rng)
        name = f"conjunto-{i:06d}"
        org = orgs[int(rand() * ORGANIZATIONS)]
        created_at = START + timedelta(seconds=rng.randrange(SPAN), microseconds=rng.randrange(1_000_000))
        # Some runs of equal timestamps, as bulk loads make them.
        modified_at = created_at if i % 97 == 0 else min(LATEST, created_at + timedelta(
            seconds=rng.randrange(86400 * 90), microseconds=rng.randrange(1_000_000)))
        created, modified = stamp(created_at), stamp(modified_at)
        topic = _picks(rand, 4)
        resources = []
        for position in range(2 + int(rand() * 3)):
            fmt = FORMATS[int(rand() * len(FORMATS))]
            rid = _uuid4(rng)
            gap = rand() < 0.4
            extension = EXTENSIONS.get(fmt) or fmt.lstrip(".").lower()
            resources.append({
                "id": rid, "package_id": dataset_id, "name": f"{topic[position].capitalize()} {2015 + position * 3}",
                "description": "" if gap else f"Datos de {topic[position]} por alcaldía.",
                "url": f"{SANDBOX}/files/synthetic/{name}/{rid}.{extension}", "format": fmt,
                "mimetype": None if gap else MIMETYPES.get(fmt.upper()),
                "size": None if gap else 1000 + int(rand() * 50_000_000),
                "last_modified": None if gap else modified, "created": created,
                "url_type": "upload" if rand() < 0.5 else "", "position": position, "hash": "",
                "state": "active", "cache_url": None, "datastore_active": False})
        chosen = _picks(rand, 3 + int(rand() * 6))
        license_id, license_title = LICENSES[int(rand() * len(LICENSES))]
        theme = THEMES[int(rand() * len(THEMES))]
        notes = (f"{theme} de {topic[0]} y {topic[1]} en la Ciudad de México, publicado por {org['title']}. "
                 f"Incluye registros de {topic[2]}, {topic[3]} y {chosen[0]} por alcaldía, colonia y fecha, "
                 f"con coordenadas cuando existen. Los archivos se actualizan periódicamente; consulte el "
                 f"diccionario de datos antes de usarlos. Registro {i}.")
        datasets.append({
            "id": dataset_id, "name": name,
            "title": f"{theme} de {topic[0]} y {topic[1]} {i}", "notes": notes,
            "type": "dataset", "state": "active", "private": False,
            "license_id": license_id, "license_title": license_title, "isopen": bool(license_id),
            "author": org["title"], "author_email": f"datos@{org['name']}.example",
            "maintainer": "Unidad de Transparencia",
            "maintainer_email": None if i % 3 else f"transparencia@{org['name']}.example",
            "metadata_created": created, "metadata_modified": modified,
            "organization": org, "owner_org": org["id"],
            "groups": [groups[g] for g in GROUPS[int(rand() * 8):][:int(rand() * 3)]],
            "tags": [tags[t] for t in chosen],
            "extras": [{"key": "frecuencia", "value": FREQUENCIES[int(rand() * len(FREQUENCIES))]},
                       {"key": "cobertura_temporal", "value": f"{2010 + i % 15}-{2011 + i % 15}"}],
            "resources": resources, "num_resources": len(resources), "num_tags": len(chosen),
            "url": "", "version": None})
    return datasets
