"""Every safety refusal of the fetch stage, served by the project's sandbox portal on loopback
(`/hostile/...`), each recorded with its reason while the run goes on."""
from __future__ import annotations

from harvester.config import load_settings
from harvester.fetch import fetch
from harvester.harvest import harvest
from harvester.store import Store

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
