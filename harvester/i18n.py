"""The languages people read: which one (`choose`), its messages (gettext catalogs read with Babel) and its
conventions for dates, numbers and times (Babel, in Mexico City's time zone).

The messages are English msgids in the code and the templates; `harvester/locale/es/LC_MESSAGES/harvester.po`
translates them to Spanish. The catalogs are read as they are committed, `.po` text (`read_po`), and turned
into gettext translations in memory: no compiled `.mo` file exists. English needs no catalog (its msgids are
the text). `scripts/update-translations` extracts the messages again (`pybabel extract` with `babel.cfg`)
and merges them into the catalogs (`pybabel update`); `tests/test_i18n.py` fails while one is untranslated.

What stays as it is in every language: machine output (`--json`, file formats, column names, the packs'
files) and every string that comes from a portal.
"""
from __future__ import annotations

import gettext as _gettext
import io
import os
import re
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Mapping, cast
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as _dates
from babel import numbers as _numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

Language = Literal["es", "en"]
LANGUAGES: tuple[Language, ...] = ("es", "en")
"""Every language, the default first: the site has Spanish at its root and English under `en/`."""
DEFAULT: Language = "es"
LOCALES: dict[Language, str] = {"es": "es_MX", "en": "en"}
"""The Babel locale of each language: Mexican Spanish conventions for dates and numbers."""
NAMES: dict[Language, str] = {"es": "Español", "en": "English"}
"""Each language in its own words (the link to a page's twin in the other language)."""
TIMEZONE = ZoneInfo("America/Mexico_City")
"""Times are shown in Mexico City's time (the `tzdata` package provides it where the system has none)."""
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "harvester"
ENVIRONMENT = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
"""The variables that name the reader's language, in gettext's order."""


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; it is translated where it is shown."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """N_ for a message with a count: both English forms, the language's form chosen where it is shown
    (`ngettext`: `1 fila`, `2 filas`). Extracted with the keyword `NP_:1,2`
    (scripts/update-translations and tests/test_i18n.py give it to Babel)."""
    return singular, plural


def parse_language(value: Any) -> Language | None:
    """`es`, `en`, or a locale name such as `es_MX.UTF-8` or `en-US`, as a Language; None when it is none."""
    text = str(value or "").strip().lower().replace("-", "_")
    head = text.split(".")[0].split("@")[0].split("_")[0]
    return cast(Language, head) if head in LANGUAGES else None


def from_environment(env: Mapping[str, str] | None = None) -> Language | None:
    """The language the environment asks for (`LANGUAGE`, a list separated by colons, then `LC_ALL`,
    `LC_MESSAGES`, `LANG`): the first of them that names Spanish or English; None when none does (`C`)."""
    env = os.environ if env is None else env
    for name in ENVIRONMENT:
        for part in (env.get(name) or "").split(":"):
            found = parse_language(part)
            if found is not None:
                return found
    return None


def choose(option: str | None = None, configured: str | None = None,
           env: Mapping[str, str] | None = None) -> Language:
    """The language of the CLI's human output: `--lang`, else `[harvester] language` (or
    HARVESTER_LANGUAGE), else the environment's locale, else Spanish."""
    return parse_language(option) or parse_language(configured) or from_environment(env) or DEFAULT


def catalog_path(lang: Language) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=None)
def translations(lang: Language) -> _gettext.NullTranslations:
    """The messages of `lang`, from its `.po` catalog (fuzzy entries left out, as `pybabel compile`
    leaves them). English, or a language without a catalog, shows the msgids themselves."""
    path = catalog_path(lang)
    if not path.is_file():
        return _gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=LOCALES[lang], domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


_current: Language = DEFAULT


def use(lang: Language) -> None:
    """Set the language of `gettext`, `ngettext` and `word` (the CLI's human output) for this process."""
    global _current
    _current = lang


def current() -> Language:
    return _current


def gettext(message: str) -> str:
    return translations(_current).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current).ngettext(singular, plural, n)


_ = gettext


def count(forms: tuple[str, str], num: int) -> str:
    """One count with its words, in the form the reader's language gives that number (`1 tabla`, `2 tablas`):
    `forms` are NP_'s two English forms, with %(num)s."""
    return ngettext(forms[0], forms[1], num) % {"num": num}


# --- words of the code's own vocabularies, shown in the reader's language --------------------------------

VOCABULARY: dict[str, str] = {
    # freshness verdicts (scores.py)
    "fresh": N_("fresh"), "stale": N_("stale"), "unknown": N_("unknown"),
    # MQA bands
    "excellent": N_("excellent"), "good": N_("good"), "sufficient": N_("sufficient"), "bad": N_("bad"),
    # MQA dimensions and indicators (scores.py)
    "findability": N_("findability"), "accessibility": N_("accessibility"),
    "interoperability": N_("interoperability"), "reusability": N_("reusability"),
    "contextuality": N_("contextuality"),
    "keywords": N_("keywords"), "themes": N_("themes"), "spatial": N_("spatial"), "temporal": N_("temporal"),
    "access URL reachable": N_("access URL reachable"), "download URL present": N_("download URL present"),
    "download URL reachable": N_("download URL reachable"), "format": N_("format"),
    "media type": N_("media type"), "format from a vocabulary": N_("format from a vocabulary"),
    "non-proprietary": N_("non-proprietary"), "machine-readable": N_("machine-readable"),
    "DCAT-AP conformance": N_("DCAT-AP conformance"), "licence": N_("licence"),
    "licence from a vocabulary": N_("licence from a vocabulary"), "access rights": N_("access rights"),
    "access rights vocabulary": N_("access rights vocabulary"), "contact point": N_("contact point"),
    "publisher": N_("publisher"), "rights": N_("rights"), "byte size": N_("byte size"), "issued": N_("issued"),
    "modified": N_("modified"),
    "DCAT-AP conformance and access-rights vocabulary are not assessed on CKAN metadata (0 points).":
        N_("DCAT-AP conformance and access-rights vocabulary are not assessed on CKAN metadata (0 points)."),
    # link statuses (linkstatus.py)
    "ok": N_("ok"), "not_modified": N_("not modified"), "not_found": N_("not found"),
    "server_error": N_("server error"), "http_error": N_("HTTP error"), "timeout": N_("timeout"),
    "too_large": N_("too large"), "refused": N_("refused"), "unreachable": N_("unreachable"),
    "html_page": N_("HTML page"),
    # a nightly run's status and stages (nightly.py)
    "partial": N_("partial"), "failed": N_("failed"),
    "harvest": N_("harvest"), "fetch": N_("fetch"), "validate": N_("validate"), "profile": N_("profile"),
    "packs": N_("packs"), "report": N_("report"),
    # column types (profile.py)
    "integer": N_("integer"), "number": N_("number"), "string": N_("string"), "date": N_("date"),
    "datetime": N_("date and time"), "boolean": N_("boolean"), "time": N_("time of day"), "year": N_("year"),
    "error": N_("error"),
    # column alerts (alerts.py)
    "all_missing": N_("all missing"), "constant": N_("constant"), "placeholder_missing": N_("placeholder for missing"),
    "decimal_comma": N_("decimal comma"), "mixed_date_formats": N_("mixed date formats"),
    "mojibake": N_("garbled accents"), "accents_lost": N_("accents lost"),
    "mojibake_name": N_("garbled column name"), "high_cardinality": N_("high cardinality"),
    "category_spellings": N_("category spellings"), "sibling_columns_differ": N_("sibling tables differ"),
    "unreadable": N_("unreadable"),
}
"""A code's value (a verdict, a link status, an alert) → its English words, the msgid its label is."""


def word(value: Any, lang: Language | None = None) -> str:
    """A value of the code's vocabularies in the reader's words; any other value (a portal's) as it is."""
    text = "" if value is None else str(value)
    message = VOCABULARY.get(text)
    if message is None:
        return text
    return translations(lang or _current).gettext(message)


# --- dates, numbers and times ----------------------------------------------------------------------------

def format_number(value: Any, lang: Language | None = None) -> str:
    """A number with the language's separators (`1,234.50` in Mexico as in English): a float that is no
    whole number with 2 decimals, any other without; None is a dash."""
    if value is None:
        return "–"
    lang = lang or _current
    fraction = isinstance(value, float) and not value.is_integer()
    separators = _separators(lang)
    if separators is None:
        return _numbers.format_decimal(value if fraction else int(value), format="#,##0.00" if fraction else "#,##0",
                                       locale=LOCALES[lang])
    # the site formats millions of numbers: Python's grouping with the locale's symbols, not Babel's parser
    text = f"{value:,.2f}" if fraction else f"{int(value):,}"
    return text.translate(separators)


@lru_cache(maxsize=None)
def _separators(lang: Language) -> dict[int, str] | None:
    """The locale's group and decimal symbols as a `str.translate` table from Python's `,` and `.`, when it
    groups by thousands as Python does (es_MX and en do); None for any other grouping (Babel then)."""
    locale = Locale.parse(LOCALES[lang])
    if locale.decimal_formats[None].pattern != "#,##0.###":
        return None
    return {ord(","): _numbers.get_group_symbol(locale), ord("."): _numbers.get_decimal_symbol(locale)}


def format_decimal(value: Any, lang: Language | None = None, digits: int = 1) -> str:
    """A number with exactly `digits` decimals in the language's conventions; None is a dash."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return _numbers.format_decimal(value, format=pattern, locale=LOCALES[lang or _current])


def format_percent(value: Any, lang: Language | None = None, digits: int = 0) -> str:
    """A share (0.25) as a percentage in the language's conventions (`25 %` or `25%`); None is a dash."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return _numbers.format_percent(float(value), format=pattern, locale=LOCALES[lang or _current])


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def format_date(value: Any, lang: Language | None = None, format: str = "medium") -> str:
    """A day (a date or ISO text) as the language writes it (`23 nov 2026`, `Nov 23, 2026`); text that is
    no date stays as it is, None is a dash."""
    if value is None or value == "":
        return "–"
    day = _as_date(value)
    if day is None:
        return str(value)
    return _dates.format_date(day, format=format, locale=LOCALES[lang or _current])


def local_day(value: Any) -> str | None:
    """The day (ISO) it was in Mexico City at a moment (a datetime or ISO text; naive ones are UTC)."""
    moment = _as_moment(value)
    return moment.astimezone(TIMEZONE).date().isoformat() if moment is not None else None


def _as_moment(value: Any) -> datetime | None:
    moment = value
    if not isinstance(moment, datetime):
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def format_datetime(value: Any, lang: Language | None = None, format: str = "medium") -> str:
    """A moment (a datetime or ISO text; naive ones are UTC, as the store keeps them) in Mexico City's
    time, as the language writes it, with the zone (`23 nov 2026, 04:05 CST`)."""
    if value is None or value == "":
        return "–"
    moment = _as_moment(value)
    if moment is None:
        return str(value)
    local = moment.astimezone(TIMEZONE)
    locale = Locale.parse(LOCALES[lang or _current])
    day = _dates.format_date(local.date(), format=format, locale=locale)
    clock = _dates.format_time(local, format="HH:mm", locale=locale)
    zone = local.strftime("%Z")  # CST (or CDT before 2022): the abbreviation people in Mexico use
    pattern = str(locale.datetime_formats.get(format, "{1}, {0}"))
    return pattern.replace("{1}", day).replace("{0}", f"{clock} {zone}".strip())


# --- the sentences candidates.py writes (a gate's why, a match's reasons), in the reader's words ---------

_SENTENCES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), message) for pattern, message in (
    (r"MQA (?P<mqa>\S+) of 405, at least (?P<min>\S+) wanted", N_("MQA %(mqa)s of 405, at least %(min)s wanted")),
    (r"best resource has (?P<stars>\S+) stars, at least (?P<min>\S+) wanted",
     N_("best resource has %(stars)s stars, at least %(min)s wanted")),
    (r"(?P<valid>\d+) of (?P<validated>\d+) validated tables valid",
     N_("%(valid)s of %(validated)s validated tables valid")),
    (r"(?P<errors>\d+) validation errors over (?P<tables>\d+) tables, at most (?P<max>\d+) allowed",
     N_("%(errors)s validation errors over %(tables)s tables, at most %(max)s allowed")),
    (r"no validated table", N_("no validated table")),
    (r"last changed (?P<age>-?\d+) days ago, at most (?P<max>\d+) allowed",
     N_("last changed %(age)s days ago, at most %(max)s allowed")),
    (r"no modification date", N_("no modification date")),
    (r"open licence", N_("open licence")),
    (r"licence not given is not an open one", N_("no licence given, so not an open one")),
    (r"licence (?P<licence>.*) is not an open one", N_("licence %(licence)s is not an open one")),
    (r"open licence and a machine-readable table", N_("open licence and a machine-readable table")),
    (r"needs (?P<missing>.*)", N_("needs %(missing)s")),
    (r"an open licence \(has none\)", N_("an open licence (has none)")),
    (r"an open licence \(has (?P<licence>.*)\)", N_("an open licence (has %(licence)s)")),
    (r"a 3-star resource \(best (?P<stars>\S+)\)", N_("a 3-star resource (best %(stars)s)")),
    (r"a table that could be validated", N_("a table that could be validated")),
    (r"matches (?P<terms>.*)", N_("matches %(terms)s")),
    (r"included by the organizers", N_("included by the organizers")),
    (r"excluded by the organizers", N_("excluded by the organizers")),
    (r"published by (?P<organization>.*)", N_("published by %(organization)s")),
    (r"in group (?P<groups>.*)", N_("in group %(groups)s")),
))
"""What `candidates.gates` and `Matcher.match` write, as patterns: the words are translated, the values
(a licence's id, the organization, the theme's terms) stay as they are."""
def sentence(text: Any, lang: Language | None = None) -> str:
    """A gate's why or a match's reason in the reader's words; any other text as it is."""
    text = "" if text is None else str(text)
    chosen = translations(lang or _current)
    for pattern, message in _SENTENCES:
        found = pattern.fullmatch(text)
        if found is None:
            continue
        values = found.groupdict()
        if "missing" in values:  # `needs` lists sentences of its own
            values["missing"] = ", ".join(sentence(part, lang) for part in _split_needs(values["missing"]))
        return chosen.gettext(message) % values
    return text


def _split_needs(text: str) -> list[str]:
    """`needs`' list back into its parts (a licence's id holds no `, a ` or `, an `)."""
    return [part for part in re.split(r", (?=an? )", text) if part]
