"""A generated CKAN catalog of any size, deterministic from a seed, for scale tests and benchmarks."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from harvester.sandbox.sites import NAMESPACE, SANDBOX, stamp

WORDS = ("movilidad transporte metro metrobús bicicleta seguridad víctimas mujeres género violencia cuidados "
         "guarderías salud escuelas presupuesto obras agua aire árboles mercados población empleo vivienda "
         "colonias alcaldías calles tránsito denuncias llamadas atención programas apoyos padrón").split()
FORMATS = ("CSV", "csv", ".csv", "text/csv", "XLSX", "JSON", "GeoJSON", "ZIP", "PDF", "")


def generate(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """`count` package dicts with 2-4 resources, 3-8 tags, one of 60 organizations, spread over years."""
    rng = random.Random(seed)
    orgs = []
    for i in range(60):
        name = f"organizacion-{i:02d}"
        orgs.append({"id": str(uuid.uuid5(NAMESPACE, f"synthetic-org/{i}")), "name": name,
                     "title": f"Organización {i:02d} de {rng.choice(WORDS).capitalize()}", "type": "organization",
                     "description": "", "image_url": "", "created": "2016-01-01T00:00:00.000000",
                     "is_organization": True, "approval_status": "approved", "state": "active"})
    start = datetime(2015, 1, 1)
    span = int((datetime(2026, 10, 1) - start).total_seconds())
    latest = datetime(2026, 10, 31, 23, 59, 59)  # nothing modified in the future
    datasets = []
    for i in range(count):
        dataset_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        name = f"conjunto-{i:06d}"
        org = orgs[rng.randrange(60)]
        created = start + timedelta(seconds=rng.randrange(span), microseconds=rng.randrange(1_000_000))
        # Some runs of equal timestamps, as bulk loads make them.
        modified = created if i % 97 == 0 else min(latest, created + timedelta(
            seconds=rng.randrange(86400 * 90), microseconds=rng.randrange(1_000_000)))
        words = rng.sample(WORDS, 4)
        tags = rng.sample(WORDS, rng.randint(3, 8))
        resources = []
        for position in range(rng.randint(2, 4)):
            fmt = rng.choice(FORMATS)
            rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            resources.append({
                "id": rid, "package_id": dataset_id, "name": f"Recurso {position + 1} {words[position % 4]}",
                "description": "", "url": f"{SANDBOX}/files/synthetic/{name}/{rid}.{(fmt or 'bin').lstrip('.').lower()}",
                "format": fmt, "mimetype": None, "size": rng.choice([None, rng.randrange(1000, 50_000_000)]),
                "last_modified": None, "created": stamp(created), "url_type": rng.choice(["upload", ""]),
                "position": position, "hash": "", "state": "active", "datastore_active": False})
        datasets.append({
            "id": dataset_id, "name": name, "title": " ".join(w.capitalize() for w in words) + f" {i}",
            "notes": ("Conjunto de datos sobre " + ", ".join(words) + ". ") * rng.randint(2, 6),
            "type": "dataset", "state": "active", "private": False,
            "license_id": "cc-by-4.0", "license_title": "Creative Commons Attribution 4.0",
            "author": org["title"], "author_email": f"datos@{org['name']}.example",
            "maintainer": "Unidad de Transparencia", "maintainer_email": None,
            "metadata_created": stamp(created), "metadata_modified": stamp(modified),
            "organization": org, "owner_org": org["id"], "groups": [],
            "tags": [{"id": str(uuid.uuid5(NAMESPACE, "tag/" + t)), "name": t, "display_name": t, "state": "active",
                      "vocabulary_id": None} for t in tags],
            "extras": [{"key": "frecuencia", "value": rng.choice(["R/P1D", "R/P1M", "R/P1Y"])}],
            "resources": resources, "num_resources": len(resources), "num_tags": len(tags),
            "url": "", "version": None, "isopen": True})
    return datasets
