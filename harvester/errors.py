"""Typed errors. The library raises these; only the CLI turns them into one-line messages."""
from __future__ import annotations


class HarvesterError(Exception):
    """Base of every error the harvester reports to a user."""


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
    """A remote portal failed; carries the URL at fault."""

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
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

    def __init__(self, message: str, url: str = "", error_type: str = "") -> None:
        super().__init__(message, url)
        self.error_type = error_type


class CkanNotFound(CkanActionError):
    """CKAN's "Not Found Error"."""


class IncompleteListing(PortalError):
    """Paging finished with fewer datasets than the portal's count: something was skipped."""
