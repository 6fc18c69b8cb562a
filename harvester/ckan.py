"""The CKAN Action API client: ckanapi's RemoteCKAN over our HTTP session, with typed errors.

The configured `api_url` is the Action API base itself (".../api/3/action/" or the Drupal form
"...?q=api/3/action/"), so every action URL is that base plus the action name; GET parameters are
appended with "&" by requests when the base already has a query string.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import ckanapi
from ckanapi import errors as ckan_errors

from harvester import http
from harvester.config import CatalogConfig, Settings
from harvester.i18n import N_
from harvester.errors import (ActionMissing, CkanActionError, CkanNotFound, NotCkanApi, PortalError,
                              PortalTimeout, PortalUnavailable, RedirectRefused, Text)

_MISSING_STATUSES = (400, 404, 405, 410, 501)
MAX_REDIRECTS = 5


def same_site(a: str, b: str) -> bool:
    """Whether a redirect from `a` to `b` stays with the portal: the same host (or its www. twin) and port,
    over http or https. An API answer is never fetched from a host nobody configured."""
    first, second = urlsplit(a), urlsplit(b)
    if second.scheme not in ("http", "https") or not first.hostname or not second.hostname:
        return False

    def host(parts: Any) -> str:
        return str(parts.hostname).lower().removeprefix("www.")

    def port(parts: Any) -> int:
        return parts.port or (443 if parts.scheme == "https" else 80)
    same_port = port(first) == port(second) or {port(first), port(second)} == {80, 443}
    return host(first) == host(second) and same_port


class _RemoteCKAN(ckanapi.RemoteCKAN):
    """RemoteCKAN whose address is the full action base; keeps the last response for its headers."""

    base_url = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_response: http.Response | None = None

    def _request_fn_get(self, url: str, data_dict: dict[str, Any] | None, headers: dict[str, str],
                        requests_kwargs: dict[str, Any]) -> tuple[int, str]:
        assert self.session is not None
        response = self.session.get(url, params=data_dict, headers=headers, allow_redirects=False,
                                    **requests_kwargs)
        for _ in range(MAX_REDIRECTS):
            if not (response.is_redirect and response.headers.get("Location")):
                break
            target = urljoin(response.url, response.headers["Location"])
            if not same_site(url, target):
                raise RedirectRefused(N_("%(source)s redirected to %(target)s: another host, not followed"), url,
                                      source=response.url, target=target)
            response = self.session.get(target, headers=headers, allow_redirects=False, **requests_kwargs)
        else:
            raise NotCkanApi(N_("more than %(most)s redirects from %(url)s"), url, most=MAX_REDIRECTS)
        self.last_response = response
        _check_envelope(response)
        return response.status_code, response.text


def _check_envelope(response: http.Response) -> None:
    """Raise a typed error for anything that is not a CKAN JSON envelope."""
    status = response.status_code
    ctype = response.headers.get("Content-Type", "").lower()
    head = response.content[:64].lstrip()
    looks_json = head.startswith((b"{", b"[")) and "html" not in ctype
    if status in (429,) or status >= 500:
        raise PortalUnavailable(N_("server error %(status)s from %(url)s after retries"), response.url, status=status)
    if looks_json:
        return
    if status in _MISSING_STATUSES:
        raise ActionMissing(N_("action not available (%(status)s) at %(url)s"), response.url, status=status)
    kind = Text(N_("an HTML page")) if ("html" in ctype or head.lower().startswith((b"<!doctype", b"<html"))) else \
        Text(N_("a %(type)s answer"), type=ctype.split(";")[0] or "non-JSON")
    raise NotCkanApi(N_("blocked or not a CKAN API: %(url)s answered %(status)s with %(kind)s"), response.url,
                     status=status, kind=kind)


@dataclass(frozen=True)
class SearchPage:
    """One package_search answer."""

    count: int
    results: list[dict[str, Any]]
    server_time: datetime | None
    text: str | None = None
    """The answer's JSON text, so the store can read the datasets without re-serialising them."""


class CkanClient:
    """Typed calls to one catalog's Action API."""

    def __init__(self, catalog: CatalogConfig, session: http.Session) -> None:
        self.catalog = catalog
        self._timeout = (catalog.connect_timeout, catalog.timeout)
        self._remote = _RemoteCKAN(catalog.api_url, user_agent=catalog.user_agent,
                                   get_only=True, session=session)

    def url(self, action: str) -> str:
        return self.catalog.api_url + action

    def call(self, action: str, **params: Any) -> Any:
        """Call one action with GET; every failure becomes a harvester error naming the URL."""
        url = self.url(action)
        try:
            return self._remote.call_action(action, params,
                                            requests_kwargs={"timeout": self._timeout})
        except PortalError:
            raise
        except (http.AnswerTooLarge, http.AnswerTooSlow) as exc:
            raise PortalUnavailable(str(exc), url) from None
        except RecursionError:
            raise NotCkanApi(N_("not a usable CKAN answer: %(url)s sent JSON nested too deeply to read"), url) from None
        except (ValueError, UnicodeError) as exc:  # ckanapi's JSON parsing, or text that is not UTF-8
            raise NotCkanApi(N_("not a usable CKAN answer: %(url)s: %(reason)s"), url,
                             reason=f"{type(exc).__name__}: {str(exc)[:120]}") from None
        except http.Timeout:
            raise PortalTimeout(N_("no answer from %(url)s within %(seconds)s s (connect %(connect)s s)"), url,
                                seconds=f"{self.catalog.timeout:g}", connect=f"{self.catalog.connect_timeout:g}") from None
        except http.ConnectionFailure as exc:
            if _timed_out(exc):
                raise PortalTimeout(N_("no answer from %(url)s within %(seconds)s s (connect %(connect)s s)"), url,
                                    seconds=f"{self.catalog.timeout:g}",
                                    connect=f"{self.catalog.connect_timeout:g}") from None
            raise PortalUnavailable(N_("cannot reach %(url)s: %(reason)s"), url, reason=_reason(exc)) from None
        except http.RequestFailure as exc:
            raise PortalUnavailable(N_("request to %(url)s failed: %(reason)s"), url, reason=_reason(exc)) from None
        except ckan_errors.NotFound as exc:
            raise CkanNotFound(N_("not found at %(url)s: %(reason)s"), url, "Not Found Error", reason=exc) from None
        except ckan_errors.SearchQueryError as exc:
            raise CkanActionError(N_("search query refused by %(url)s: %(reason)s"), url, "Search Query Error",
                                  reason=exc) from None
        except ckan_errors.SearchError as exc:  # CKAN 2.11: a filter Solr cannot run (409)
            raise CkanActionError(N_("search query refused by %(url)s: %(reason)s"), url, "Search Error",
                                  reason=str(exc)[:300]) from None
        except ckan_errors.ValidationError as exc:
            raise CkanActionError(N_("validation error from %(url)s: %(reason)s"), url, "Validation Error",
                                  reason=exc) from None
        except ckan_errors.NotAuthorized:
            raise CkanActionError(N_("not authorized at %(url)s"), url, "Authorization Error") from None
        except ckan_errors.CKANAPIError as exc:
            raise self._unknown_error(url, exc) from None

    def _unknown_error(self, url: str, exc: Exception) -> PortalError:
        response = self._remote.last_response
        if response is not None and response.status_code in _MISSING_STATUSES:
            return ActionMissing(N_("action not available (%(status)s) at %(url)s"), url, status=response.status_code)
        status = response.status_code if response is not None else "?"
        return NotCkanApi(N_("blocked or not a CKAN API: %(url)s answered %(status)s without a CKAN result"), url,
                          status=status)

    @property
    def last_server_time(self) -> datetime | None:
        return http.server_time(self._remote.last_response)

    def document(self, url: str) -> Any:
        """A JSON document the portal serves beside its API (its data.json), read like an API answer:
        bounded, same-host redirects only. ActionMissing when the portal has none there."""
        try:
            status, text = self._remote._request_fn_get(url, None, {}, {"timeout": self._timeout})
        except NotCkanApi as exc:
            raise ActionMissing(N_("no JSON document at %(url)s: %(reason)s"), url, reason=exc) from None
        except (http.AnswerTooLarge, http.AnswerTooSlow) as exc:
            raise PortalUnavailable(str(exc), url) from None
        except http.Timeout:
            raise PortalTimeout(N_("no answer from %(url)s within %(seconds)s s"), url,
                                seconds=f"{self.catalog.timeout:g}") from None
        except http.RequestFailure as exc:
            raise PortalUnavailable(N_("request to %(url)s failed: %(reason)s"), url, reason=_reason(exc)) from None
        if status in _MISSING_STATUSES:
            raise ActionMissing(N_("no JSON document at %(url)s (%(status)s)"), url, status=status)
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise NotCkanApi(N_("not a usable JSON document: %(url)s: %(reason)s"), url,
                             reason=type(exc).__name__) from None

    # Typed actions -------------------------------------------------------------------------

    def status_show(self) -> dict[str, Any]:
        result = self.call("status_show")
        return result if isinstance(result, dict) else {}

    def ckan_version(self) -> str | None:
        """The portal's CKAN version from status_show (None when it names none)."""
        return str(self.status_show().get("ckan_version") or "") or None

    def package_search(self, *, fq: str = "", q: str = "*:*", sort: str | None = None, rows: int = 10,
                       start: int = 0, fl: str | None = None) -> SearchPage:
        params: dict[str, Any] = {"q": q or "*:*", "rows": rows, "start": start}
        if fq:
            params["fq"] = fq
        if sort:
            params["sort"] = sort
        if fl:
            params["fl"] = fl
        result = self.call("package_search", **params)
        if not isinstance(result, dict) or "count" not in result or not isinstance(result.get("results"), list):
            raise NotCkanApi(N_("blocked or not a CKAN API: %(url)s answered without count and results"),
                             self.url("package_search"))
        count = result["count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise NotCkanApi(N_("not a usable CKAN answer: %(url)s gave count %(count)r, not a number of datasets"),
                             self.url("package_search"), count=str(count)[:40])
        response = self._remote.last_response
        return SearchPage(count, result["results"], self.last_server_time,
                          response.text if response is not None else None)

    def package_list(self) -> list[str]:
        result = self.call("package_list")
        if not isinstance(result, list):
            raise NotCkanApi(N_("blocked or not a CKAN API: %(url)s did not answer a list"), self.url("package_list"))
        return [str(name) for name in result]

    def package_show(self, id_or_name: str) -> dict[str, Any]:
        result = self.call("package_show", id=id_or_name)
        # DKAN answers a one-element list.
        if isinstance(result, list) and len(result) == 1:
            result = result[0]
        if not isinstance(result, dict) or "id" not in result:
            raise NotCkanApi(N_("blocked or not a CKAN API: package_show of %(dataset)r at %(url)s answered no dataset"),
                             self.url("package_show"), dataset=id_or_name)
        return result


def make_client(settings: Settings, catalog: CatalogConfig) -> tuple[CkanClient, http.RequestStats]:
    """A client for one catalog over its own polite, cached, retrying session, and the session's counts."""
    session, stats = http.make_api_session(http.SessionOptions(
        user_agent=catalog.user_agent, timeout=catalog.timeout, connect_timeout=catalog.connect_timeout,
        retries=catalog.retries, backoff=catalog.backoff, max_retry_after=catalog.max_retry_after,
        delay=catalog.delay, cache_path=settings.paths.http_cache, cache_seconds=catalog.cache_seconds,
        max_answer_seconds=catalog.max_answer_seconds, max_answer_bytes=catalog.max_answer_bytes))
    return CkanClient(catalog, session), stats


def _timed_out(exc: Exception) -> bool:
    """True when retries ran out on read timeouts (requests reports those as connection errors)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, http.ReadTimeoutError)


def _reason(exc: Exception) -> str:
    """A short reason for a requests/urllib3 failure, without the nested reprs."""
    text = str(exc)
    for marker in ("Caused by ", "Max retries exceeded"):
        if marker in text:
            tail = text.split(marker, 1)[1]
            if "(" in tail:
                tail = tail.split("(", 1)[1].rsplit(")", 1)[0]
            text = tail.strip(" ()'\"") or text
            break
    for known in ("RemoteDisconnected", "Connection refused", "Connection reset", "timed out",
                  "Connection aborted", "too many 5", "Name or service not known"):
        if known.lower() in text.lower():
            return known.lower() if known != "RemoteDisconnected" else "connection closed without answer"
    return text[:200]
