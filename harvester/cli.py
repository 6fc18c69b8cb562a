"""The `harvester` command: a thin skin over the library. Errors become one line and an exit code."""
from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import sys
import traceback
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import click

from harvester import clihelp, i18n
from harvester.config import Settings, load_settings
from harvester.errors import HarvesterError, translated
from harvester.exitcodes import ExitCode
from harvester.i18n import N_, NP_, _, count, ngettext
from harvester.progress import Progress, progress_for
from harvester.render import (PrintableProgress, clip, fetch_table, harvest_table, pack_counts, printable,
                              render_table, wrapped_table)

DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_DISK_FULL_TEXT = re.compile(r"No space left on device|File too large|Disk quota exceeded", re.I)
# what JSON leaves raw with ensure_ascii=False but a terminal acts on (C1 controls, DEL, separators, bidi)
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class Context:
    def __init__(self, config: str | None, quiet: bool, debug: bool, lang: str | None = None) -> None:
        self.config_path = config
        self.quiet = quiet
        self.debug = debug
        self.lang = lang
        self._settings: Settings | None = None
        # until the config file is read: --lang, HARVESTER_LANGUAGE, the file's language when it reads, the
        # locale (a config error is in these)
        i18n.use(i18n.choose(lang, os.environ.get("HARVESTER_LANGUAGE") or clihelp.configured_language(config),
                             os.environ))

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
            i18n.use(i18n.choose(self.lang, self._settings.language, os.environ))
        return self._settings


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help=N_("Print JSON for scripts instead of a table."))(func)


def dask_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--dask", "dask", metavar="ADDRESS", default=None,
                        help=N_("Run the per-file work as Dask distributed tasks: a scheduler's address "
                                "(tcp://host:8786), or 'local' for a LocalCluster here ([scale] in catalogs.toml)."))(func)


class Duration(click.ParamType):
    """Seconds, or a number with s, m or h (`90`, `45m`, `2h`, `1.5h`)."""

    name = "duration"
    _UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(value).lower())
        seconds = float(found.group(1)) * self._UNITS[found.group(2)] if found else 0.0
        if not found or seconds <= 0:
            self.fail(_("expected a duration above 0 like 90, 45m or 2h, got %(value)s") % {"value": repr(value)},
                      param, ctx)
        return seconds


def max_duration_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--max-duration", "max_duration", type=Duration(), default=None, metavar="DURATION",
                        help=N_("End the run on time (90, 45m, 2h): nothing starts after it; the next run "
                                "continues where this one stopped, the oldest checks first."))(func)


def scaled(settings: Settings, dask: str | None) -> Settings:
    """The settings with `--dask` (when given) in place of `[scale] dask`."""
    if dask is None:
        return settings
    return dataclasses.replace(settings, scale=dataclasses.replace(settings.scale, dask=dask.strip() or None))


def emit_json(data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    click.echo(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))  # still JSON, the same strings


def say(text: Any, err: bool = False) -> None:
    """One line of text that may carry a portal's strings: control characters shown escaped."""
    click.echo(printable(text), err=err)


def error_line(error: BaseException | str) -> str:
    """`Error: ...` in the reader's language: a typed error's message translated, with its values as they are."""
    return _("Error: %(message)s") % {"message": error if isinstance(error, str) else translated(error)}


def read_copy_notice(when: Any) -> str:
    """The warning that a reader reads the last published copy, and when it was published."""
    shown = when.strftime("%H:%M UTC") if when.date() == when.now(when.tzinfo).date() \
        else when.strftime("%Y-%m-%d %H:%M UTC")
    return _("Warning: reading the last published copy (%(when)s) while another process writes") % {"when": shown}


def unknown_ref_notice(theme: str, ref: str) -> str:
    return _("Warning: %(theme)s: %(ref)s: names no harvested dataset") % {"theme": theme, "ref": ref}


@contextmanager
def progress(obj: "Context", quiet: bool = False) -> Iterator[Progress]:
    """The progress output of a command; messages made printable."""
    with progress_for(obj.quiet or quiet) as shown:
        yield PrintableProgress(shown)


@contextmanager
def one_writer(obj: "Context", command: str) -> Iterator[None]:
    """Hold the nightly's lock while a writing command runs: a second writer (or a nightly) exits 5."""
    from harvester.nightly import writer_lock
    with writer_lock(obj.settings, command):
        yield


@contextmanager
def reading(obj: "Context") -> Iterator[Any]:
    """The store for a read command, never waited for: the store itself when no writer holds it, else at
    once the read copy the last writer published (one line on stderr says so, and when it was published);
    exit 5 (busy) when a writer holds it and there is no copy to read."""
    from harvester.store import Store, StoreBusy
    try:
        store = Store(obj.settings.paths.database, read_only=True)
    except StoreBusy as exc:
        if obj.debug:
            traceback.print_exc()
        say(error_line(exc), err=True)
        sys.exit(ExitCode.BUSY)
    with store:
        if store.published_copy is not None and store.published_at is not None:
            say(read_copy_notice(store.published_at), err=True)
        yield store


def _disk_full(exc: BaseException) -> str | None:
    """The one line for an error that is a full disk (or a file-size limit), else None."""
    seen: BaseException | None = exc
    for _depth in range(10):
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.errno in DISK_FULL:
            if seen.filename:
                return _("%(file)s: cannot write: %(reason)s (free some space and run the command again)") \
                    % {"file": seen.filename, "reason": seen.strerror or seen}
            return _("cannot write: %(reason)s (free some space and run the command again)") \
                % {"reason": seen.strerror or seen}
        if _DISK_FULL_TEXT.search(str(seen)):
            reason = str(seen).strip().splitlines()[0][:300] if str(seen).strip() else type(seen).__name__
            return _("cannot write: %(reason)s (free some space and run the command again)") % {"reason": reason}
        seen = seen.__cause__ or seen.__context__
    return None


GLOBAL_FLAGS = ("--quiet", "-q", "--debug")
"""The group's flags, also taken after the command's name (`harvester search x --quiet`)."""
GLOBAL_VALUES = ("--lang",)
"""The group's options with a value, also taken after the command's name (`harvester report --lang en`)."""
COMMAND_FLAGS = ("--json",)
"""The commands' flags, also taken before the command's name (`harvester --json search x`)."""
_GROUP_VALUES = ("--config", "-c")


def placed_flags(args: list[str], commands: set[str]) -> list[str]:
    """`args` with the global flags moved before the command's name and `--json` after it, so either order
    works; nothing after `--` moves."""
    at = 0
    while at < len(args) and args[at] not in commands:
        at += 2 if args[at] in _GROUP_VALUES + GLOBAL_VALUES else 1
    if at >= len(args):
        return args
    end = args.index("--") if "--" in args[at:] else len(args)
    before, command, after, rest = args[:at], args[at], args[at + 1:end], args[end:]
    moved_in, kept = [], []
    i = 0
    while i < len(after):
        word = after[i]
        if word in GLOBAL_FLAGS or word.split("=", 1)[0] in GLOBAL_VALUES and "=" in word:
            moved_in.append(word)
        elif word in GLOBAL_VALUES and i + 1 < len(after):
            moved_in += after[i:i + 2]
            i += 1
        else:
            kept.append(word)
        i += 1
    moved_out = [a for a in before if a in COMMAND_FLAGS]
    return [a for a in before if a not in COMMAND_FLAGS] + moved_in + [command] + kept + moved_out + rest


def _version(ctx: click.Context, _param: click.Parameter, asked: bool) -> None:
    """`--version`: the installed version, in the reader's language (click's own option says it in English)."""
    if not asked or ctx.resilient_parsing:
        return
    from importlib.metadata import version

    click.echo(_("%(prog)s, version %(version)s") % {"prog": "harvester", "version": version("harvester")})
    ctx.exit()


class HarvesterGroup(clihelp.Group):
    """Turns the library's typed errors into one line on stderr and exit status 1; help in the reader's
    language, which is chosen before the command line is parsed (its help and click's errors come then)."""

    group_class = clihelp.Group

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        if parent is None:
            i18n.use(clihelp.language_of(list(args)))
        return super().make_context(info_name, args, parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, placed_flags(list(args), set(self.commands)))

    def invoke(self, ctx: click.Context) -> Any:
        from harvester.nightly import NightlyBusy
        try:
            return super().invoke(ctx)
        except HarvesterError as exc:
            self._debug(ctx)
            say(error_line(exc), err=True)
            ctx.exit(ExitCode.BUSY if isinstance(exc, NightlyBusy) else ExitCode.ERROR)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            line = _disk_full(exc)
            if line is None:
                raise
            self._debug(ctx)
            say(error_line(line), err=True)
            ctx.exit(ExitCode.ERROR)

    @staticmethod
    def _debug(ctx: click.Context) -> None:
        obj = ctx.find_object(Context)
        if obj is not None and obj.debug:
            traceback.print_exc()


@click.group(cls=HarvesterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", type=click.Path(dir_okay=False), envvar="HARVESTER_CONFIG",
              help=N_("The catalogs file (default: ./catalogs.toml)."))
@click.option("--quiet", "-q", is_flag=True, help=N_("No progress output."))
@click.option("--debug", is_flag=True, help=N_("Show tracebacks on errors."))
@click.option("--lang", type=click.Choice(i18n.LANGUAGES), default=None,
              help=N_("Language of the human output, the help and the errors: es or en (default: [harvester] "
                      "language in catalogs.toml, else the locale's LANGUAGE/LC_ALL/LC_MESSAGES/LANG, else es). "
                      "The site has both."))
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help=N_("Show the version and exit."))
@click.pass_context
def cli(ctx: click.Context, config: str | None, quiet: bool, debug: bool, lang: str | None) -> None:
    """Harvest open-data catalogs (CKAN, DKAN) into DuckDB and judge what they hold.

    \b
    Example:
      harvester demo
      harvester harvest cdmx
      harvester search "movilidad mujeres"
    """
    ctx.obj = Context(config, quiet, debug, lang)


@cli.command()
@click.option("--probe", is_flag=True, help=N_("Ask each catalog whether it answers, its CKAN version and size."))
@json_option
@click.pass_obj
def catalogs(obj: Context, probe: bool, as_json: bool) -> None:
    """List the configured catalogs.

    \b
    Example:
      harvester catalogs --probe
    """
    from harvester.probe import probe_catalog
    settings = obj.settings
    entries = list(settings.catalogs.values())
    probes = {c.id: probe_catalog(settings, c) for c in entries} if probe else {}
    if as_json:
        emit_json([{"id": c.id, "title": c.title, "api_url": c.api_url, "kind": c.kind,
                    "organization": c.organization or None, "enabled": c.enabled,
                    **({"probe": probes[c.id].as_dict()} if probe else {})} for c in entries])
        return
    if not entries:
        say(_("No catalogs configured in %(file)s.") % {"file": settings.source or "catalogs.toml"})
        return
    headers = ["id", "kind", "title", "api_url"]
    rows: list[list[Any]] = []
    for c in entries:
        row: list[Any] = [c.id, c.kind, c.title + (f" (organization {c.organization})" if c.organization else ""),
                          c.api_url]
        if probe:
            p = probes[c.id]
            row += [_("yes") if p.reachable and not p.error else _("no"), p.ckan_version or "-",
                    {True: _("yes"), False: _("no"), None: "-"}[p.package_search],
                    p.datasets if p.datasets is not None else "-", p.error or ""]
        rows.append(row)
    if probe:
        headers += ["answers", "ckan", "package_search", "datasets", "error"]
    click.echo(render_table(headers, rows))


@cli.command()
@click.argument("catalog_ids", nargs=-1, metavar="[CATALOG]...")
@click.option("--full", is_flag=True, help=N_("List every dataset again instead of asking what changed."))
@json_option
@click.pass_obj
def harvest(obj: Context, catalog_ids: tuple[str, ...], full: bool, as_json: bool) -> None:
    """Harvest catalog metadata into the store (all enabled catalogs by default).

    Exit status: 0 all harvested, 3 some catalogs failed, 4 every catalog failed.

    \b
    Example:
      harvester harvest
      harvester harvest cdmx federal --full
    """
    from harvester.harvest import harvest as run_harvest
    settings = obj.settings
    settings.harvestable(catalog_ids)  # nothing to harvest: one line, before the lock makes a data folder
    with one_writer(obj, "harvest"), progress(obj, as_json) as shown:
        results = run_harvest(settings, catalog_ids, full=full, progress=shown)
    if as_json:
        emit_json([r.as_dict() for r in results])
    else:
        click.echo(harvest_table(results))
        for r in results:
            if r.error:
                say(f"{r.catalog_id}: {translated(r.problem) if r.problem is not None else r.error}", err=True)
        say(_("Store: %(path)s") % {"path": settings.paths.database})
    failed = [r for r in results if r.status == "failed"]
    if results and len(failed) == len(results):
        sys.exit(ExitCode.ALL_FAILED)
    if failed:
        sys.exit(ExitCode.SOME_FAILED)


@cli.command()
@click.argument("catalog_ids", nargs=-1, metavar="[CATALOG]...")
@click.option("--dataset", "datasets", multiple=True, help=N_("Only this dataset name (repeatable)."))
@click.option("--format", "formats", multiple=True, help=N_("Only resources declaring this format (repeatable)."))
@click.option("--max-size", type=click.IntRange(0), help=N_("Skip resources declaring more bytes than this."))
@click.option("--due", is_flag=True, help=N_("Only links due for a re-check, as the nightly does (broken links and "
                                             "unchanged files are asked less often the longer they stay so)."))
@max_duration_option
@json_option
@dask_option
@click.pass_obj
def fetch(obj: Context, catalog_ids: tuple[str, ...], datasets: tuple[str, ...], formats: tuple[str, ...],
          max_size: int | None, due: bool, max_duration: float | None, as_json: bool, dask: str | None) -> None:
    """Download the resources of harvested datasets and record each one's link status.

    Every selected link is asked (conditionally: an unchanged file is not sent again), the oldest checks
    first; with --due only those due, as the nightly does.

    \b
    Example:
      harvester fetch cdmx --format CSV
      harvester fetch --due --max-duration 2h
    """
    from harvester.fetch import fetch as run_fetch
    settings = scaled(obj.settings, dask)
    with one_writer(obj, "fetch"), progress(obj, as_json) as shown:
        summary = run_fetch(settings, catalogs=list(catalog_ids), datasets=list(datasets), formats=list(formats),
                            max_size=max_size, progress=shown, backoff=due, max_seconds=max_duration)
    if as_json:
        emit_json({"total": summary.total, "by_status": summary.by_status, "deferred": summary.deferred,
                   "backed_off": summary.backed_off, "not_due": summary.not_due, "notes": summary.notes})
        return
    click.echo(fetch_table(summary))
    if due:
        say(_("Not due for a re-check yet: %(broken)s, %(unchanged)s")
            % {"broken": count(NP_("%(num)s broken link", "%(num)s broken links"), summary.backed_off),
               "unchanged": count(NP_("%(num)s unchanged file", "%(num)s unchanged files"), summary.not_due)})
    if summary.deferred:
        say(ngettext("%(num)s resource left for the next run (the run's deadline, or its host asked to wait)",
                     "%(num)s resources left for the next run (the run's deadline, or their hosts asked to wait)",
                     summary.deferred) % {"num": summary.deferred})
    for note in summary.notes:
        say(f"  {note}")
    say(_("Files: %(path)s") % {"path": settings.paths.raw})


@cli.command()
@click.argument("catalog_ids", nargs=-1, metavar="[CATALOG]...")
@json_option
@dask_option
@click.pass_obj
def validate(obj: Context, catalog_ids: tuple[str, ...], as_json: bool, dask: str | None) -> None:
    """Validate every table of the fetched files (CSV/TSV, XLSX and XLS sheets, JSON tables, CSVs in ZIPs)
    as `frictionless validate` does, with encoding and header decided first and the row checks in DuckDB.

    \b
    Example:
      harvester validate cdmx
    """
    from harvester.validate import validate as run_validate
    settings = scaled(obj.settings, dask)
    with one_writer(obj, "validate"), progress(obj, as_json) as shown:
        summary = run_validate(settings, catalogs=list(catalog_ids), progress=shown)
    if as_json:
        emit_json(summary.__dict__)
        return
    say(_("%(validated)s: %(valid)s, %(invalid)s; %(unchanged)s since the last run")
        % {"validated": count(NP_("%(num)s table validated", "%(num)s tables validated"), summary.validated),
           "valid": count(NP_("%(num)s valid", "%(num)s valid"), summary.valid),
           "invalid": count(NP_("%(num)s invalid", "%(num)s invalid"), summary.invalid),
           "unchanged": count(NP_("%(num)s file unchanged", "%(num)s files unchanged"), summary.unchanged)})
    if summary.by_error_type:
        click.echo(render_table([_("error type"), _("count")], sorted(summary.by_error_type.items())))


@cli.command(name="profile")
@click.argument("catalog_ids", nargs=-1, metavar="[CATALOG]...")
@json_option
@dask_option
@click.pass_obj
def profile_command(obj: Context, catalog_ids: tuple[str, ...], as_json: bool, dask: str | None) -> None:
    """Profile every validated table per column (types, missing, ranges, top values) and raise alerts.

    \b
    Example:
      harvester profile cdmx
    """
    from harvester.profile import profile as run_profile
    settings = scaled(obj.settings, dask)
    with one_writer(obj, "profile"), progress(obj, as_json) as shown:
        summary = run_profile(settings, catalogs=list(catalog_ids), progress=shown)
    if as_json:
        emit_json(summary.__dict__)
        return
    say(_("%(profiled)s, %(unchanged)s, %(failed)s")
        % {"profiled": count(NP_("%(num)s profiled", "%(num)s profiled"), summary.profiled),
           "unchanged": count(NP_("%(num)s unchanged", "%(num)s unchanged"), summary.unchanged),
           "failed": count(NP_("%(num)s unreadable", "%(num)s unreadable"), summary.failed)})
    if summary.alerts:
        click.echo(render_table([_("alert"), _("columns")], sorted(summary.alerts.items())))


@cli.command()
@click.argument("reference", metavar="CATALOG/DATASET")
@json_option
@click.pass_obj
def show(obj: Context, reference: str, as_json: bool) -> None:
    """Scores of one dataset: metadata quality (MQA), stars, freshness, links, validation, usefulness.

    \b
    Example:
      harvester show cdmx/victimas-en-carpetas-de-investigacion-fgj
    """
    from harvester.scores import dataset_scores
    from harvester.search import publication
    if "/" not in reference:
        raise click.BadParameter(_("expected CATALOG/DATASET, e.g. cdmx/linea-mujeres"), param_hint="CATALOG/DATASET")
    catalog_id, name = reference.split("/", 1)
    with reading(obj) as store:
        scores = dataset_scores(store, catalog_id, name)
        found = store.dataset_named(catalog_id, name)
        published = publication(store, catalog_id, found.remote_id) if found else None
    if as_json:
        emit_json({**scores.as_dict(),
                   **({"copy_of": published.copy_of.of_ref if published.copy_of else None,
                       "also_published_at": [c.ref for c in published.copies],
                       "possibly_the_same_as": published.similar_refs} if published else {})})
        return
    m = scores.mqa
    say(f"{scores.catalog}/{scores.dataset}: {scores.title}")
    say(_("Publisher: %(publisher)s") % {"publisher": scores.organization or "-"}
        + ("  " + _("(deleted upstream %(when)s)") % {"when": scores.deleted_at} if scores.deleted_at else ""))
    for line in published.lines() if published else []:
        say(line)
    say(_("Metadata quality (MQA): %(total)s/405, %(band)s") % {"total": f"{m.total:g}", "band": i18n.word(m.band)}
        + "  " + ", ".join(f"{i18n.word(k)} {v:g}" for k, v in m.dimensions.items()))
    f = scores.freshness
    say(_("Freshness: %(verdict)s (declared %(declared)s, last change %(day)s)")
        % {"verdict": i18n.word(f.verdict), "declared": f.declared_frequency or "-",
           "day": (f.last_change or "-")[:10]})
    links, valid = scores.link_health, scores.validation
    say(_("Links: %(ok)s/%(checked)s reachable; validation: %(valid)s/%(validated)s valid")
        % {"ok": links.ok, "checked": links.checked, "valid": valid.valid, "validated": valid.validated})
    u = scores.usefulness
    say(_("For a datathon: by sex/gender %(sex)s; geography %(geography)s; time %(time)s")
        % {"sex": ", ".join(u.by_sex_or_gender) or _("no"), "geography": ", ".join(u.geographic_levels) or _("none"),
           "time": (" " + _("to") + " ").join(u.time_coverage) if u.time_coverage else _("unknown")})
    click.echo(render_table([_("resource"), _("format"), _("sniffed"), _("link"), _("stars"), _("valid")],
                            [[clip(r.name or r.id, 40), r.format, r.sniffed_format, r.link_status,
                              r.stars, {True: _("yes"), False: _("no"), None: "-"}[r.valid]]
                             for r in scores.resources]))


@cli.command()
@click.argument("query")
@click.option("--catalog", "catalog_ids", multiple=True, help=N_("Only this catalog (repeatable)."))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000),
              help=N_("At most this many datasets."))
@json_option
@click.pass_obj
def search(obj: Context, query: str, catalog_ids: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Search the harvested metadata offline (accents and case do not matter).

    \b
    Example:
      harvester search "movilidad mujeres"
      harvester search genero --catalog cdmx --json
    """
    from harvester.search import search as run_search
    with reading(obj) as store:
        hits = run_search(store, query, catalogs=list(catalog_ids) or None, limit=limit)
    if as_json:
        emit_json([h.as_dict() for h in hits])
        return
    if not hits:
        say(_("No dataset matches %(query)s.") % {"query": repr(query)})
        return
    elsewhere = any(h.also_in for h in hits)
    click.echo(render_table(
        [_("catalog"), _("dataset"), _("title"), _("organization"), _("formats"), _("last change")]
        + ([_("also in")] if elsewhere else []),
        [[h.catalog_id, h.name, clip(h.title, 60), clip(h.organization or "", 40), ",".join(h.formats),
          h.metadata_modified.date().isoformat() if h.metadata_modified else ""]
         + ([clip(", ".join(h.also_in), 40)] if elsewhere else []) for h in hits]))


@cli.command()
@click.option("--out", type=click.Path(file_okay=False), help=N_("Output folder (default: a new datasets/demo-<time>)."))
@click.option("--synthetic", default=0, show_default=True, type=click.IntRange(0, 200000),
              help=N_("Also harvest a generated catalog of this many datasets."))
@click.pass_obj
def demo(obj: Context, out: str | None, synthetic: int) -> None:
    """Run every stage against the bundled sandbox portal on 127.0.0.1, into a fresh folder.

    \b
    Example:
      harvester demo
    """
    from harvester.demo import run_demo
    run_demo(out, synthetic=synthetic, quiet=obj.quiet, echo=click.echo)


@cli.group()
def pack() -> None:
    """Theme packs: candidate datasets for organizers, validated Parquet packs for teams.

    \b
    Example:
      harvester pack candidates care-economy --json
    """


@pack.command(name="candidates")
@click.argument("name")
@json_option
@click.pass_obj
def pack_candidates(obj: Context, name: str, as_json: bool) -> None:
    """Rank the datasets a theme profile brings in: why each matched, its scores, each quality gate.

    \b
    Example:
      harvester pack candidates mobility-and-women
    """
    from harvester.candidates import find_candidates, unknown_refs
    from harvester.themes import load_theme, theme_path
    settings = obj.settings
    theme = load_theme(theme_path(settings.profiles, name))
    with reading(obj) as store:
        found = find_candidates(store, theme)
        unknown = unknown_refs(store, theme)
    if as_json:
        emit_json({"theme": theme.name, "title": theme.title, "candidates": [c.as_dict() for c in found],
                   "unknown_refs": unknown})
        return
    for ref in unknown:
        say(unknown_ref_notice(theme.name, ref), err=True)
    say(ngettext("%(title)s (%(name)s): %(accepted)s of %(num)s candidate passes every gate",
                 "%(title)s (%(name)s): %(accepted)s of %(num)s candidates pass every gate", len(found))
        % {"title": theme.title, "name": theme.name, "accepted": sum(c.accepted for c in found), "num": len(found)})
    click.echo(wrapped_table(
        ["", "dataset", "title", "age (days)", "links ok", "MQA", "stars", "errors", "why", "gates failed"],
        [["ok" if c.accepted else "--", c.ref, c.title, "-" if c.scores.age_days is None else c.scores.age_days,
          "-" if c.scores.link_health is None else f"{c.scores.link_health:.0%}", f"{c.scores.mqa:g}",
          c.scores.stars, c.scores.errors, "; ".join(c.reasons),
          "; ".join(g.why for g in c.gates if not g.passed) or ("excluded" if c.excluded else "")]
         for c in found], wide={"dataset": 2, "title": 2, "why": 3, "gates failed": 3}))


@pack.command(name="new")
@click.argument("name")
@click.option("--title", help=N_("The theme's title (default: its name's words)."))
@click.pass_obj
def pack_new(obj: Context, name: str, title: str | None) -> None:
    """Write a commented theme profile to start from, in the profiles folder (never over an existing one).

    \b
    Example:
      harvester pack new agua-potable --title "Agua potable en la ciudad"
    """
    from harvester.themes import new_profile
    path = new_profile(obj.settings.profiles, name, title)
    say(_("New profile: %(path)s") % {"path": path})
    say(f"  harvester pack candidates {name}")


@pack.command(name="build")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@json_option
@click.pass_obj
def pack_build(obj: Context, names: tuple[str, ...], as_json: bool) -> None:
    """Build validated Parquet packs of the accepted datasets (every theme profile when none is named).

    \b
    Example:
      harvester pack build mobility-and-women
    """
    from harvester.pack import build_packs
    with one_writer(obj, "pack build"):
        results = build_packs(obj.settings, list(names))
    if as_json:
        emit_json([r.as_dict() for r in results])
        return
    for r in results:
        for ref in r.unknown_refs:
            say(unknown_ref_notice(r.name, ref), err=True)
        say(_("%(name)s %(version)s: %(tables)s %(datasets)s, %(failed)s, %(rejected)s")
            % {"name": r.name, "version": r.version, **pack_counts(r),
               "failed": count(NP_("%(num)s with unmet expectations", "%(num)s with unmet expectations"),
                               r.expectations_failed)}
            + ("" if r.new else " " + _("(unchanged: same inputs, same pack)")))
        say(f"  {r.path}")


@cli.command()
@json_option
@click.pass_obj
def report(obj: Context, as_json: bool) -> None:
    """Build the organizers' static site in <data_dir>/site/ from the store, the packs and the run summaries.

    The site works offline (no script, no CDN); it is published in one step (<data_dir>/site is a symlink
    switched atomically) and not rewritten when nothing it shows changed. It reads the store like a reader:
    during a nightly (or another writing command) it builds from the last published read copy and says so.
    Exit status 5 when another site build (the nightly's report stage) is in progress.

    \b
    Example:
      harvester report
    """
    from harvester.report import SiteBusy, build_site
    from harvester.store import StoreBusy
    try:
        result = build_site(obj.settings, wait=False)  # a reader: no writer lock, and no waiting for a builder
    except (SiteBusy, StoreBusy) as exc:
        if obj.debug:
            traceback.print_exc()
        say(error_line(exc), err=True)
        sys.exit(ExitCode.BUSY)
    if result.read_copy_at is not None:
        say(read_copy_notice(result.read_copy_at), err=True)
    for note in result.notes:  # a search index shard that could not be made (its previous index kept)
        say(_("Warning: %(note)s") % {"note": note}, err=True)
    if as_json:
        emit_json(result.as_dict())
        return
    state = _("published") if result.published else _("unchanged, nothing written")
    say(_("Site: %(pages)s and %(downloads)s, %(state)s (%(seconds)ss)")
        % {"pages": count(NP_("%(num)s page", "%(num)s pages"), result.pages),
           "downloads": count(NP_("%(num)s pack download", "%(num)s pack downloads"), result.downloads), "state": state,
           "seconds": i18n.format_decimal(result.seconds, digits=1)})
    say(f"  {obj.settings.paths.site / 'index.html'}")


@cli.command()
@click.argument("catalog_ids", nargs=-1, metavar="[CATALOG]...")
@max_duration_option
@json_option
@dask_option
@click.pass_obj
def nightly(obj: Context, catalog_ids: tuple[str, ...], max_duration: float | None, as_json: bool,
            dask: str | None) -> None:
    """Run every stage incrementally: harvest, fetch, validate, profile, pack build, report (for cron, systemd, CI).

    One run at a time; a failing catalog is reported and the others complete. The summary (what changed,
    failures, time per stage) is printed and written to <data_dir>/runs/.

    Exit status: 0 all good, 3 some catalogs or stages failed, 4 nothing could be harvested,
    5 another nightly run is in progress (this one did nothing).

    \b
    Example:
      harvester nightly
      harvester nightly --max-duration 6h --dask tcp://10.0.0.5:8786
    """
    from harvester.nightly import NightlyBusy, render_summary, run_nightly
    with progress(obj, as_json) as shown:
        try:
            summary = run_nightly(scaled(obj.settings, dask), list(catalog_ids), progress=shown,
                                  max_seconds=max_duration)
        except NightlyBusy as exc:
            say(error_line(exc), err=True)
            sys.exit(ExitCode.BUSY)
    if as_json:
        emit_json(summary.as_dict())
    else:
        click.echo(render_summary(summary))
    sys.exit(summary.exit_code)


clihelp.speak_click()


def main() -> None:
    """Entry point of the `harvester` command."""
    cli(prog_name="harvester")
