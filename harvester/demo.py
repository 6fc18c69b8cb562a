"""`harvester demo`: the bundled sandbox portal on 127.0.0.1, every stage that exists, a fresh folder."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from harvester import i18n
from harvester.config import load_settings
from harvester.i18n import NP_, _, count
from harvester.progress import progress_for
from harvester.render import fetch_table, harvest_table, pack_counts

# The real catalogs the demo imitates: id -> (sandbox site, title, extra catalogs.toml lines).
DEMO_CATALOGS: dict[str, tuple[str, str, str]] = {
    "cdmx": ("cdmx", "Datos Abiertos de la Ciudad de México (sandbox)", 'kind = "ckan"\nstate = "CDMX"'),
    "federal": ("federal", "datos.gob.mx (sandbox)", 'kind = "ckan"'),
    "xalapa": ("federal", "Ayuntamiento de Xalapa en datos.gob.mx (sandbox)",
               'kind = "ckan"\norganization = "ayuntamiento-de-xalapa"\nstate = "Veracruz"'),
    "infocdmx": ("infocdmx", "INFO CDMX (sandbox)", 'kind = "ckan"\nstate = "CDMX"'),
    "veracruz": ("veracruz", "Municipio de Veracruz (sandbox)", 'kind = "ckan"\nstate = "Veracruz"'),
    "zapopan": ("zapopan", "Zapopan, DKAN (sandbox)", 'kind = "dkan"\nstate = "Jalisco"'),
    "puebla": ("puebla", "Puebla capital, DKAN (sandbox)", 'kind = "dkan"\nstate = "Puebla"'),
    "mardelplata": ("mardelplata", "Mar del Plata, DKAN with ?q= URLs (sandbox)", 'kind = "dkan"'),
}


# The theme profiles that ship with the project (profiles/ beside the package).
BUNDLED_PROFILES = Path(__file__).resolve().parent.parent / "profiles"


def write_demo_config(path: Path, api_url: Callable[[str], str], data_dir: Path, synthetic: int = 0) -> None:
    """A catalogs.toml pointing every demo catalog at the sandbox."""
    lines = ["# Written by `harvester demo`: the real catalogs, served by the sandbox on 127.0.0.1.",
             "[harvester]", f'data_dir = "{data_dir.as_posix()}"',
             f'profiles = "{BUNDLED_PROFILES.as_posix()}"', "",
             "[defaults]", 'user_agent = "datathon-harvester/0.1 (demo against the bundled sandbox)"',
             "timeout = 30", "retries = 2", "backoff = 0.2", "",
             "[fetch]", "# The sandbox lives on 127.0.0.1, which the fetcher refuses unless allowed.",
             'allow_hosts = ["127.0.0.1"]', ""]
    entries = dict(DEMO_CATALOGS)
    if synthetic:
        entries["synthetic"] = ("synthetic", f"Synthetic catalog of {synthetic} datasets (sandbox)", 'kind = "ckan"')
    for cid, (site, title, extra) in entries.items():
        lines += [f"[catalogs.{cid}]", f'title = "{title}"', f'api_url = "{api_url(site)}"', extra, ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def run_demo(out: str | None, *, synthetic: int = 0, quiet: bool = False,
             echo: Callable[[str], None] = print) -> Path:
    """Start the sandbox, run the stages into `out`, say where the results are."""
    from harvester.fetch import fetch
    from harvester.profile import profile
    from harvester.validate import validate
    from harvester.harvest import harvest
    from harvester.sandbox import SandboxPortal
    from harvester.pack import build_packs
    from harvester.report import build_site
    from harvester.search import search
    from harvester.store import Store

    folder = Path(out) if out else Path("datasets") / time.strftime("demo-%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    with SandboxPortal(synthetic=synthetic) as portal:
        echo(_("Sandbox portal on %(url)s (sites: %(sites)s)") % {"url": portal.base_url,
                                                                  "sites": ", ".join(portal.sites)})
        config = folder / "catalogs.toml"
        write_demo_config(config, portal.api_url, Path("."), synthetic)
        settings = load_settings(config, env={})
        with progress_for(quiet) as progress:
            results = harvest(settings, progress=progress)
            fetched = fetch(settings, progress=progress)
            validated = validate(settings, progress=progress)
            profiled = profile(settings, progress=progress)
    packs = build_packs(settings) if BUNDLED_PROFILES.is_dir() else []
    site = build_site(settings)
    echo("")
    echo(_("Harvest:"))
    echo(harvest_table(results))
    echo("")
    echo(_("Fetch (%(total)s resources):") % {"total": fetched.total})
    echo(fetch_table(fetched))
    echo("")
    echo(_("Validate: %(tables)s, %(valid)s, %(invalid)s") % {
        "tables": count(NP_("%(num)s table", "%(num)s tables"), validated.validated),
        "valid": count(NP_("%(num)s valid", "%(num)s valid"), validated.valid),
        "invalid": count(NP_("%(num)s invalid", "%(num)s invalid"), validated.invalid)})
    echo(_("Profile: %(files)s; alerts: %(alerts)s") % {
        "files": count(NP_("%(num)s file", "%(num)s files"), profiled.profiled), "alerts": (
            ", ".join(f"{i18n.word(k)} {v}" for k, v in sorted(profiled.alerts.items())) or _("none"))})
    for pack in packs:
        echo(_("Pack %(name)s %(version)s: %(tables)s %(datasets)s (%(rejected)s, %(failed)s)") % {
            "name": pack.name, "version": pack.version, **pack_counts(pack),
            "failed": count(NP_("%(num)s table with unmet expectations", "%(num)s tables with unmet expectations"),
                            pack.expectations_failed)})
    with Store(settings.paths.database, read_only=True) as store:
        for query in ("movilidad mujeres", "cuidados"):
            hits = search(store, query, limit=5)
            echo("")
            echo(_('Search "%(query)s" (top %(n)s):') % {"query": query, "n": len(hits)})
            for hit in hits:
                echo(f"  {hit.catalog_id}/{hit.name}: {hit.title}")
    echo("")
    echo(_("Results in %(folder)s:") % {"folder": folder.resolve()})
    pages = _("(%(pages)s pages)") % {"pages": site.pages}
    for label, where in ((_("store"), settings.paths.database.resolve()), (_("files"), settings.paths.raw.resolve()),
                         (_("packs"), settings.paths.packs.resolve()),
                         (_("site"), f"{(settings.paths.site / 'index.html').absolute()} {pages}"),
                         (_("config"), config.resolve())):
        echo(f"  {label:<8} {where}")
    echo(_("Try: %(command)s") % {"command": f"harvester --config {config} search genero"})
    return folder
