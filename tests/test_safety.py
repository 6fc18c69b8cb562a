"""Every safety refusal of the fetch stage, served by the project's sandbox portal on loopback
(`/hostile/...`), each recorded with its reason while the run goes on."""
from __future__ import annotations

import pytest

from harvester.config import load_settings
from harvester.errors import PathEscape
from harvester.fetch import fetch
from harvester.harvest import harvest
from harvester.model import LinkCheck, replace
from harvester.profile import profile
from harvester.store import Store
from harvester.validate import validate

HOSTILE = {
    "zip-bomb.zip": ("ZIP", "refused", "zip bomb"),
    "zip-slip.zip": ("ZIP", "refused", "'../../evil.csv' leaves its folder"),
    "zip-absolute.zip": ("ZIP", "refused", "'/etc/cron.d/evil' leaves its folder"),
    "gzip-bomb.csv.gz": ("CSV", "refused", "gzip bomb"),
    "redirect-private.csv": ("CSV", "refused", "private address 10.0.0.8"),
    "redirect-file.csv": ("CSV", "refused", "scheme 'file'"),
    "redirect-loopback.csv": ("CSV", "refused", "loopback address 127.0.0.1"),
    "huge.csv": ("CSV", "too_large", "Content-Length"),
    "endless.csv": ("CSV", "too_large", "more than 1000000 bytes"),
    "slow.csv": ("CSV", "timeout", ""),
}


def test_every_refusal_served_by_the_sandbox(portal, make_config):
    # The sandbox is reached as `localhost`, the one host allowed: 127.0.0.1 itself stays refused.
    base = portal.base_url.replace("127.0.0.1", "localhost")
    resources = [{"id": name, "name": name, "format": fmt, "url": f"{base}/hostile/{name}"}
                 for name, (fmt, _, _) in HOSTILE.items()]
    resources += [{"id": "direct-loopback", "name": "loopback", "format": "CSV",
                   "url": f"{portal.base_url}/files/cdmx/linea-mujeres/linea_mujeres.csv"},
                  {"id": "ftp", "name": "ftp", "format": "CSV", "url": "ftp://datos.example.org/f.csv"},
                  {"id": "metadata", "name": "metadata", "format": "JSON",
                   "url": "http://169.254.169.254/latest/meta-data/"},
                  {"id": "good", "name": "good", "format": "CSV",
                   "url": f"{base}/files/cdmx/linea-mujeres/linea_mujeres.csv"}]
    portal.add("veracruz", {"name": "recursos-hostiles", "title": "Recursos hostiles", "resources": resources})
    config = make_config("veracruz")
    config.write_text(config.read_text() + '\n[fetch]\nallow_hosts = ["localhost"]\nmax_bytes = 1000000\n'
                      "max_member_bytes = 5000000\nmax_ratio = 50\ntimeout = 1\n", encoding="utf-8")
    settings = load_settings(config, env={})
    assert harvest(settings, ["veracruz"])[0].status == "ok"
    summary = fetch(settings, datasets=["recursos-hostiles"])
    with Store(settings.paths.database, read_only=True) as store:
        rows = {r["resource_id"]: r for r in store.query("SELECT * FROM resource_files")}
    for name, (_, status, reason) in HOSTILE.items():
        assert (rows[name]["status"], reason in (rows[name]["reason"] or "")) == (status, True), (name, rows[name])
    assert rows["direct-loopback"]["status"] == "refused" and "loopback address" in rows["direct-loopback"]["reason"]
    assert rows["ftp"]["status"] == "refused" and "scheme 'ftp'" in rows["ftp"]["reason"]
    assert rows["metadata"]["status"] == "refused" and "link-local" in rows["metadata"]["reason"]
    assert rows["good"]["status"] == "ok" and summary.total == len(resources)
    # nothing refused is left on disk: only the good file and no partial downloads
    assert [p.name for p in settings.paths.raw.rglob("*") if p.is_file()] == ["good.csv"]
    asked = {r.path.rsplit("/", 1)[-1] for r in portal.file_requests()}
    assert "secreto.csv" not in asked and "datos.csv" not in asked  # redirects were not followed


def test_portal_names_and_ids_never_lead_outside_the_data_folder(portal, make_config, tmp_path):
    """A dataset name with no safe character once fell back to the raw id, so an id with `../` wrote the file
    (and its `.validation.json`) outside the data folder under the portal's chosen name, and a refused archive
    was deleted there. A canary folder beside the data folder must come through untouched."""
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "victim.zip").write_bytes(b"precious")
    before = {p.name: p.read_bytes() for p in canary.iterdir()}
    base = portal.base_url.replace("127.0.0.1", "localhost")
    good = f"{base}/files/cdmx/linea-mujeres/linea_mujeres.csv"
    datasets = [
        {"name": "..", "id": "../../../canary", "title": "Sin nombre seguro",
         "resources": [{"id": "shell", "name": "shell", "format": "PHP", "url": good},
                       {"id": "data", "name": "data", "format": "CSV", "url": good},
                       {"id": "victim", "name": "victim", "format": "ZIP", "url": f"{base}/hostile/zip-bomb.zip"}]},
        {"name": "...", "id": str(canary / "abs"), "title": "Puntos",
         "resources": [{"id": "../../../../canary/evil", "name": "evil", "format": "CSV", "url": good}]},
        {"name": "数据集", "id": "..", "title": "数据集",
         "resources": [{"id": "数据", "name": "数据", "format": "CSV", "url": good}]},
        {"name": "数据集二", "id": "../..", "title": "数据集二",
         "resources": [{"id": "数据", "name": "数据", "format": "CSV", "url": good}]},
    ]
    for dataset in datasets:
        portal.add("veracruz", dataset)
    config = make_config("veracruz")
    config.write_text(config.read_text() + '\n[fetch]\nallow_hosts = ["localhost"]\nmax_ratio = 50\n',
                      encoding="utf-8")
    settings = load_settings(config, env={})
    assert harvest(settings, ["veracruz"])[0].status == "ok"
    fetch(settings, datasets=[d["name"] for d in datasets])
    validate(settings)
    profile(settings)

    assert {p.name: p.read_bytes() for p in canary.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canary", "catalogs.toml", "data"]
    raw = settings.paths.raw.resolve()
    written = [p.resolve() for p in settings.paths.raw.rglob("*") if p.is_file()]
    assert written and all(raw in p.parents for p in written)
    with Store(settings.paths.database, read_only=True) as store:
        rows = store.query("SELECT f.resource_id, f.status, f.reason, f.path, d.name FROM resource_files f "
                           "JOIN datasets d ON d.catalog_id = f.catalog_id AND d.remote_id = f.dataset_id "
                           "WHERE d.name IN ('..', '...', '数据集', '数据集二')")
        validations = store.query("SELECT resource_id, valid, report_path FROM validations")
    by_id = {(r["name"], r["resource_id"]): r for r in rows}
    assert len(by_id) == 6
    assert by_id[("..", "victim")]["status"] == "refused" and "zip bomb" in by_id[("..", "victim")]["reason"]
    stored = [r["path"] for r in rows if r["status"] == "ok"]
    assert len(stored) == 5 and all(p.startswith("raw/veracruz/") and ".." not in p.split("/") for p in stored)
    # datasets whose names have no safe character still get folders of their own
    assert len({p.split("/")[2] for p in stored}) == 4
    assert validations and all((settings.paths.root / v["report_path"]).resolve().is_relative_to(raw)
                               for v in validations if v["report_path"])


def test_a_stored_path_leading_outside_is_refused_not_followed(portal, make_config, tmp_path):
    """A path read back from the store (written by an older version, or by hand) is checked after resolving,
    symlinks included: validation records a one-line error naming it and writes nothing outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    config = make_config("veracruz")
    config.write_text(config.read_text() + '\n[fetch]\nallow_hosts = ["127.0.0.1"]\n', encoding="utf-8")
    settings = load_settings(config, env={})
    assert harvest(settings, ["veracruz"])[0].status == "ok"
    fetch(settings)
    settings.paths.raw.joinpath("planted").symlink_to(outside, target_is_directory=True)
    with Store(settings.paths.database) as store:
        first = store.query("SELECT * FROM resource_files WHERE status = 'ok' AND sniffed_format = 'CSV' "
                            "ORDER BY resource_id LIMIT 2")
        checks = [LinkCheck.from_row(row) for row in first]
        store.record_link_check(replace(checks[0], path="raw/../../outside/secret.csv", sha256="changed-1"))
        store.record_link_check(replace(checks[1], path="raw/planted/secret.csv", sha256="changed-2"))
    validate(settings)
    with Store(settings.paths.database, read_only=True) as store:
        refused = store.query("SELECT resource_id, valid, first_errors FROM validations WHERE resource_id IN (?, ?)",
                              [first[0]["resource_id"], first[1]["resource_id"]])
    assert len(refused) == 2 and all(r["valid"] is False and "leaves" in r["first_errors"] for r in refused)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.csv"]
    with pytest.raises(PathEscape):
        settings.paths.under_root("raw/planted/secret.csv")
    assert settings.paths.under_root("raw/veracruz/x.csv") == settings.paths.root / "raw/veracruz/x.csv"
