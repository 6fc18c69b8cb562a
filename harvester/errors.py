"""Typed errors. The library raises these; only the CLI turns them into one-line messages.

An error's message is an English msgid marked with `N_` (or `NP_`'s two forms, counted by the value `num`) and
the named values it shows (`ConfigError(N_("%(file)s: [%(section)s] must be a table"), file=..., section=...)`).
`str(exc)` is the English text (logs, the store, the tests); `exc.translated()` is the same message in the
reader's language (`harvester.i18n`), which the CLI shows. A value is shown as it is (a file, a URL, a
portal's words are never translated), except a `Text` or another HarvesterError, which is translated too."""
from __future__ import annotations

import re
from typing import Any, Protocol

_PLACEHOLDER = re.compile(r"%\((\w+)\)([sr])")


class _Translations(Protocol):
    def gettext(self, message: str) -> str: ...
    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


class _English:
    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural


ENGLISH = _English()


class Text:
    """A message and its values, shown in any language: English by `str()`, another with `render`. A message
    with a count is NP_'s pair of forms, and its value `num` (`%(num)s`) chooses the form."""

    def __init__(self, message: str | tuple[str, str], **values: Any) -> None:
        self.message = message
        # another library's exception is its text (English, as it says it): no traceback held, and picklable
        self.values = {key: str(value) if isinstance(value, BaseException) and not isinstance(value, HarvesterError)
                       else value for key, value in values.items()}

    def render(self, translations: _Translations = ENGLISH) -> str:
        values = self.values
        if isinstance(self.message, tuple):
            template = translations.ngettext(self.message[0], self.message[1], int(values.get("num", 0)))
        else:
            template = translations.gettext(self.message) if self.message else self.message
        shown = {key: _rendered(value, translations) for key, value in values.items()}

        def value(found: re.Match[str]) -> str:
            if found.group(1) not in shown:
                return found.group(0)
            return repr(shown[found.group(1)]) if found.group(2) == "r" else str(shown[found.group(1)])
        # only the placeholders: a message that is another's text (`PortalError(str(exc), url)`) may hold a %
        return _PLACEHOLDER.sub(value, template)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Text({self.render()!r})"


def _rendered(value: Any, translations: _Translations) -> Any:
    if isinstance(value, Text):
        return value.render(translations)
    if isinstance(value, HarvesterError):
        return value.text.render(translations)
    return value


class HarvesterError(Exception):
    """Base of every error the harvester reports to a user."""

    def __init__(self, message: str | tuple[str, str] = "", **values: Any) -> None:
        self.text = Text(message, **values)
        super().__init__(self.text.render())

    def translated(self, lang: str | None = None) -> str:
        """The message in `lang` (default: the CLI's language, `i18n.current()`), with the same values."""
        from harvester import i18n
        chosen = i18n.parse_language(lang) or i18n.current()
        return self.text.render(i18n.translations(chosen))


def translated(exc: BaseException | Text, lang: str | None = None) -> str:
    """An error's message (or a Text) in the reader's language when it is a HarvesterError; any other as it is."""
    if isinstance(exc, Text):
        from harvester import i18n
        return exc.render(i18n.translations(i18n.parse_language(lang) or i18n.current()))
    return exc.translated(lang) if isinstance(exc, HarvesterError) else str(exc)


class ConfigError(HarvesterError):
    """A configuration file or environment override is wrong; the message names file, section and key."""


class StoreError(HarvesterError):
    """The DuckDB store cannot be opened or written."""


class StoreBusy(StoreError):
    """Another harvester process holds the store."""


class DataFolderError(HarvesterError):
    """The data folder (or a folder under it) cannot be created or written."""


class PathEscape(HarvesterError):
    """A path built from portal strings (or read back from the store) would leave its folder."""


class PortalError(HarvesterError):
    """A remote portal failed; carries the URL at fault (also a value its message can show as %(url)s)."""

    def __init__(self, message: str | tuple[str, str] = "", url: str = "", **values: Any) -> None:
        super().__init__(message, url=url, **values)
        self.url = url


class RedirectRefused(PortalError):
    """The portal redirected an API call to another host: not followed."""


class PortalTimeout(PortalError):
    """The portal did not answer within the configured timeouts."""


class PortalUnavailable(PortalError):
    """Connection refused or dropped, or 5xx/429 answers after every retry."""


class NotCkanApi(PortalError):
    """The answer was not a CKAN API answer (HTML page, WAF, captive portal, ...)."""


class ActionMissing(PortalError):
    """The portal does not offer this action (DKAN, disabled search): callers fall back."""


class CkanActionError(PortalError):
    """A well-formed CKAN error envelope: {"success": false, "error": {"__type": ...}}."""

    def __init__(self, message: str | tuple[str, str] = "", url: str = "", error_type: str = "",
                 **values: Any) -> None:
        super().__init__(message, url, **values)
        self.error_type = error_type


class CkanNotFound(CkanActionError):
    """CKAN's "Not Found Error"."""


class IncompleteListing(PortalError):
    """Paging finished with fewer datasets than the portal's count: something was skipped."""
