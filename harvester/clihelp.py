"""The CLI's help in the reader's language: the commands' help, the options' help and click's own words
("Usage:", "Options", "Show this message and exit.", "No such option", ...).

Click reads help when a command is defined, before the language is known; here it is translated when it is
shown. A command's help is its docstring: each paragraph is one msgid (its lines joined by single spaces),
and a `\\b` block (the examples) is shown as it is, but for its heading (`Example:`). `extract` finds those
paragraphs for `pybabel extract` (babel.cfg names it for harvester/cli.py); the options' help is marked
with `N_` where it is written. Click's own messages are translated through our catalog too: the ones listed
in `CLICK_MESSAGES` (click marks them for gettext; `speak_click` points click's modules at ours).
"""
from __future__ import annotations

import ast
import gettext as _gettext
import importlib
import inspect
import os
import tomllib
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

import click
from babel.messages.extract import extract_python

from harvester import i18n
from harvester.i18n import N_, NP_

EXAMPLE = "\b"
"""What starts one of click's literal blocks (the examples), kept line by line as it is written."""


def paragraphs(help_text: str) -> list[str]:
    """A help text's paragraphs as click shows them: cleaned of indentation, cut at a form feed; a
    paragraph's lines joined by single spaces, a `\\b` block kept as it is."""
    text = inspect.cleandoc(help_text).partition("\f")[0]
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        out.append(block if block.startswith(EXAMPLE) else " ".join(block.split()))
    return out


def messages_of(help_text: str) -> list[str]:
    """The msgids of a help text: each paragraph, and each literal block's heading (`Example:`)."""
    found = []
    for part in paragraphs(help_text):
        if part.startswith(EXAMPLE):
            lines = part.split("\n")
            if len(lines) > 1 and lines[1].strip().endswith(":"):
                found.append(lines[1].strip())
        else:
            found.append(part)
    return found


def translate_help(help_text: str | None) -> str | None:
    """A help text in the reader's language (`i18n.current()`), paragraph by paragraph."""
    if not help_text:
        return help_text
    shown = []
    for part in paragraphs(help_text):
        if part.startswith(EXAMPLE):
            lines = part.split("\n")
            if len(lines) > 1 and lines[1].strip().endswith(":"):
                heading = lines[1].strip()
                lines[1] = lines[1].replace(heading, i18n.gettext(heading))
            shown.append("\n".join(lines))
        else:
            shown.append(i18n.gettext(part))
    return "\n\n".join(shown)


# --- commands and groups whose help is translated when it is shown ----------------------------------------

class TranslatedHelp:
    """A click command whose help, short help, options' help and usage words are translated when shown."""

    _showing = False

    @contextmanager
    def _translated(self, ctx: click.Context | None) -> Iterator[None]:
        if self._showing:  # format_help shows the usage too
            yield
            return
        command: Any = self
        params = command.get_params(ctx) if ctx is not None else command.params
        kept = [(p, p.help) for p in params if isinstance(p, click.Option)]
        shown = [] if ctx is None else [(p, p.metavar) for p in params if not getattr(p, "is_flag", False)]
        saved = {name: getattr(command, name) for name in ("help", "short_help", "options_metavar",
                                                          "subcommand_metavar") if hasattr(command, name)}
        self._showing = True
        try:
            for param, text in kept:
                param.help = i18n.gettext(text) if text else text
            for param, _metavar in shown:  # `[CATALOG]...`, `FILE`, `INTEGER RANGE`: see METAVARS
                param.metavar = i18n.gettext(param.make_metavar(ctx))
            command.help = translate_help(saved["help"])
            if saved.get("short_help"):
                command.short_help = i18n.gettext(saved["short_help"])
            if saved.get("options_metavar"):
                command.options_metavar = i18n.gettext(saved["options_metavar"])
            if saved.get("subcommand_metavar"):
                command.subcommand_metavar = i18n.gettext(saved["subcommand_metavar"])
            yield
        finally:
            self._showing = False
            for param, text in kept:
                param.help = text
            for param, metavar in shown:
                param.metavar = metavar
            for name, value in saved.items():
                setattr(command, name, value)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with self._translated(ctx):
            super().format_help(ctx, formatter)  # type: ignore[misc]

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with self._translated(ctx):
            super().format_usage(ctx, formatter)  # type: ignore[misc]

    def get_short_help_str(self, limit: int = 45) -> str:
        with self._translated(None):
            return super().get_short_help_str(limit)  # type: ignore[misc]


class Command(TranslatedHelp, click.Command):
    pass


class Group(TranslatedHelp, click.Group):
    """A group whose commands and subgroups show their help in the reader's language too."""

    command_class = Command
    group_class = type  # subgroups are of the group's own class


def walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under `command` (itself first), with the names that reach it."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from walk(sub, path + (name,))


def help_messages(command: click.Command) -> list[str]:
    """Every msgid of the help of `command` and the commands under it: their help and their options' help
    (click's own help option is made when it is shown: its words are in CLICK_MESSAGES)."""
    found: list[str] = []
    for _path, each in walk(command):
        found += messages_of(each.help or "")
        if each.short_help:
            found.append(each.short_help)
        for param in each.params:
            text = getattr(param, "help", None)
            if text:
                found.append(text)
    return found


# --- the language before the command line is parsed ---------------------------------------------------------

def language_of(args: list[str], env: dict[str, str] | None = None) -> i18n.Language:
    """The language the command line asks for, before click parses it (the help and click's errors are shown
    while it parses): `--lang`, then HARVESTER_LANGUAGE, then `[harvester] language` in the config file (when it
    reads; a broken file is reported later, by the command), then the locale, then Spanish."""
    env = dict(os.environ if env is None else env)
    option, config = None, env.get("HARVESTER_CONFIG")
    for at, arg in enumerate(args):
        if arg == "--":
            break
        name, equals, value = arg.partition("=")
        if name == "--lang":
            option = value if equals else (args[at + 1] if at + 1 < len(args) else None)
        elif name in ("--config", "-c") and not equals and at + 1 < len(args):
            config = args[at + 1]
        elif name == "--config" and equals:
            config = value
    return i18n.choose(option, env.get("HARVESTER_LANGUAGE") or configured_language(config), env)


def configured_language(config: str | None) -> str | None:
    """`[harvester] language` of the config file (`config`, else ./catalogs.toml) when it reads, else None."""
    path = Path(config) if config else Path("catalogs.toml")
    try:
        with path.open("rb") as handle:
            value = tomllib.load(handle).get("harvester", {}).get("language")
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) else None


# --- click's own words ----------------------------------------------------------------------------------------

CLICK_MESSAGES: tuple[str | tuple[str, str], ...] = (
    N_("Usage:"), N_("Options"), N_("Commands"), N_("[OPTIONS]"), N_("COMMAND [ARGS]..."),
    N_("Show this message and exit."), N_("Show the version and exit."),
    N_("Error: {message}"), N_("Try '{command} {option}' for help."), N_("Aborted!"),
    N_("Missing command."), N_("Missing argument"), N_("Missing option"), N_("Missing parameter"),
    N_("No such option {name!r}."), N_("No such command {name!r}."),
    N_("Invalid value for {param_hint}: {message}"), N_("Invalid value: {message}"),
    N_("Option {name!r} does not take a value."),
    NP_("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."),
    NP_("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"),
    NP_("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"),
    NP_("{value!r} is not {choice}.", "{value!r} is not one of {choices}."),
    N_("{value!r} is not a valid {number_type}."), N_("{value} is not in the range {range}."),
    N_("default: {default}"), N_("required"), N_("env var: {var}"),
)
"""The messages of click that our catalog translates (click marks them for gettext, `click` domain)."""
METAVARS = (N_("[CATALOG]..."), N_("CATALOG/DATASET"), N_("[NAME]..."), N_("ADDRESS"), N_("DURATION"), N_("FILE"),
            N_("DIRECTORY"), N_("INTEGER RANGE"), N_("INTEGER"), N_("TEXT"))
"""The placeholders a usage line and an option show for values (cli.py's own and click's types'), translated
when the help is shown."""
_CLICK_SINGULAR = {m for m in CLICK_MESSAGES if isinstance(m, str)}
_CLICK_PLURAL = {m for m in CLICK_MESSAGES if isinstance(m, tuple)}
_CLICK_MODULES = ("core", "exceptions", "formatting", "parser", "types")
"""Click's modules that look their words up when they show them (decorators.py does it at definition time:
its help options' words are translated by `TranslatedHelp` instead)."""


def _click_gettext(message: str) -> str:
    return i18n.gettext(message) if message in _CLICK_SINGULAR else _gettext.gettext(message)


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    if (singular, plural) in _CLICK_PLURAL:
        return i18n.ngettext(singular, plural, n)
    return _gettext.ngettext(singular, plural, n)


def speak_click() -> None:
    """Let click's own words follow the reader's language: each of its modules that calls gettext's
    `gettext` (or `ngettext`) as `_` calls ours, which translates the messages above and leaves any other
    to gettext, as click would. A click that looks its words up otherwise keeps them in English."""
    for name in _CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:
            continue
        if getattr(module, "_", None) is _gettext.gettext:
            module._ = _click_gettext  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is _gettext.ngettext:
            module.ngettext = _click_ngettext  # type: ignore[attr-defined]


# --- extraction: the help paragraphs of cli.py's commands, for pybabel ------------------------------------------

def extract(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[Any, ...]]:
    """Babel's Python extraction, and the paragraphs of the docstring of each function decorated as a click
    command or group (`@cli.command(...)`, `@pack.group()`): babel.cfg uses it for harvester/cli.py."""
    yield from extract_python(fileobj, keywords, comment_tags, options)
    fileobj.seek(0)
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef) or not any(_is_command(d) for d in node.decorator_list):
            continue
        docstring = ast.get_docstring(node, clean=False)
        if docstring:
            for message in messages_of(docstring):
                yield node.body[0].lineno, "", message, []


def _is_command(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr in ("command", "group")
