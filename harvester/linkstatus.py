"""The verdicts of a link check (one per resource, in `resource_files.status`), and which are healthy."""
from __future__ import annotations

from enum import StrEnum


class LinkStatus(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    """A conditional request answered 304: the file we hold is current."""
    NOT_FOUND = "not_found"
    SERVER_ERROR = "server_error"
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    REFUSED = "refused"
    """Refused by a safety check (address, scheme, archive bomb, path), with the reason."""
    UNREACHABLE = "unreachable"
    HTML_PAGE = "html_page"
    """An HTML page where a file was promised."""

    @property
    def healthy(self) -> bool:
        return self in HEALTHY


HEALTHY = frozenset({LinkStatus.OK, LinkStatus.NOT_MODIFIED})
FAILURES = frozenset(set(LinkStatus) - HEALTHY)


def healthy(status: str | None) -> bool:
    """Whether a stored status (or None: never checked) is a working link."""
    return status in HEALTHY
