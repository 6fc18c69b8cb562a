"""HTTP for API calls: one session per catalog with timeouts, retries, politeness and requests-cache.

Nothing else in the package imports `requests` directly. Resource files do not go through the cache
(requests-cache holds whole bodies in memory); they get their own streaming session later.
"""
from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import requests
import requests_cache
from requests.adapters import HTTPAdapter
from urllib3 import exceptions as urllib3_exceptions
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass
class RequestStats:
    """Counts what one catalog's session did on the network (cache hits are not requests)."""

    requests: int = 0
    retries: int = 0
    cache_hits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, requests_: int = 0, retries: int = 0, cache_hits: int = 0) -> None:
        with self._lock:
            self.requests += requests_
            self.retries += retries
            self.cache_hits += cache_hits


class _CountingRetry(Retry):
    """urllib3 Retry that counts each retry and caps Retry-After."""

    def __init__(self, *args: Any, stats: RequestStats | None = None,
                 max_retry_after: float = 120.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stats = stats
        self.max_retry_after = max_retry_after

    def new(self, **kw: Any) -> "_CountingRetry":
        new = super().new(**kw)
        new.stats = self.stats
        new.max_retry_after = self.max_retry_after
        return new

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> "_CountingRetry":
        # Each call stands for one failed attempt. When retries run out on a status, urllib3 hands the
        # last response back and the adapter counts it; when they run out on an error, count it here.
        try:
            new = super().increment(method, url, response, error, _pool, _stacktrace)
        except Exception:
            if response is None and self.stats is not None:
                self.stats.add(requests_=1)
            raise
        if self.stats is not None:
            self.stats.add(requests_=1, retries=1)
        return new

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        if value is None:
            return None
        return min(value, self.max_retry_after)


class AnswerTooLarge(requests.exceptions.RequestException):
    """An API answer went past `max_answer_bytes` (decompressed): the rest was not read."""


class AnswerTooSlow(requests.exceptions.RequestException):
    """An API answer took longer than `max_answer_seconds` in all (a trickle defeats read timeouts)."""


def read_bounded(raw: Any, *, max_bytes: int, deadline: float, chunk: int = 1 << 16) -> Iterator[bytes]:
    """The decoded body of a streamed urllib3 response, piece by piece; AnswerTooLarge past `max_bytes`,
    AnswerTooSlow past `deadline` (time.monotonic()). Each piece is one read of the socket at most, so a
    server sending a byte at a time cannot hold a read beyond one read timeout."""
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise AnswerTooSlow(f"still receiving after the deadline ({size} bytes so far)")
        piece = raw.read1(chunk, decode_content=True)
        if not piece:  # the end of the body
            return
        size += len(piece)
        if size > max_bytes:
            raise AnswerTooLarge(f"more than {max_bytes} bytes")
        yield piece


class _PoliteAdapter(HTTPAdapter):
    """Waits `delay` seconds between two requests, counts requests that reach the network, and reads every
    answer within `max_seconds` and `max_bytes`."""

    def __init__(self, delay: float, stats: RequestStats, default_timeout: tuple[float, float],
                 max_seconds: float = 300.0, max_bytes: int = 100_000_000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delay = delay
        self.stats = stats
        self.default_timeout = default_timeout
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes
        self._last = 0.0
        self._lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.delay:
            with self._lock:
                wait = self._last + self.delay - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                self._last = time.monotonic()
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        deadline = time.monotonic() + self.max_seconds
        streamed = kwargs.get("stream", False)
        kwargs["stream"] = True
        response = super().send(request, **kwargs)
        self.stats.add(requests_=1)
        if not streamed:  # read it here, within bounds; requests then finds the content already read
            try:
                response._content = b"".join(read_bounded(response.raw, max_bytes=self.max_bytes,
                                                          deadline=deadline))
            except (AnswerTooLarge, AnswerTooSlow) as exc:
                response.close()
                limit = (f"max_answer_bytes {self.max_bytes}" if isinstance(exc, AnswerTooLarge)
                         else f"max_answer_seconds {self.max_seconds:g}")
                raise type(exc)(f"{request.url}: answer refused: {exc} ({limit})", request=request) from None
            except urllib3_exceptions.ReadTimeoutError as exc:  # as requests itself reports them
                response.close()
                raise requests.exceptions.ReadTimeout(exc, request=request) from None
            except urllib3_exceptions.HTTPError as exc:
                response.close()
                raise requests.exceptions.ConnectionError(exc, request=request) from None
            response._content_consumed = True
        return response


@dataclass(frozen=True)
class SessionOptions:
    """What one catalog's session needs to know."""

    user_agent: str
    timeout: float = 60.0
    connect_timeout: float = 10.0
    retries: int = 4
    backoff: float = 1.0
    max_retry_after: float = 120.0
    delay: float = 0.0
    cache_path: Path | None = None
    cache_seconds: float = 0.0
    max_answer_seconds: float = 300.0
    max_answer_bytes: int = 100_000_000


def make_api_session(options: SessionOptions) -> tuple[requests.Session, RequestStats]:
    """A session for API answers: cached (when cache_path is set), retried, polite, counted."""
    stats = RequestStats()
    session: requests.Session
    if options.cache_path is not None:
        options.cache_path.parent.mkdir(parents=True, exist_ok=True)
        session = requests_cache.CachedSession(
            str(options.cache_path),
            backend="sqlite",
            expire_after=options.cache_seconds,
            allowable_methods=("GET",),
            allowable_codes=(200,),
            # package_search windows never repeat: storing their large pages would only cost time.
            urls_expire_after={"*package_search*": requests_cache.DO_NOT_CACHE},
            stale_if_error=False,
        )
        session.hooks["response"].append(_count_cache_hit(stats))
    else:
        session = requests.Session()
    retry = _CountingRetry(
        total=options.retries, connect=options.retries, read=options.retries,
        status=options.retries, other=0,
        backoff_factor=options.backoff, backoff_max=max(options.backoff * 16, 1.0),
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False,
        stats=stats, max_retry_after=options.max_retry_after,
    )
    adapter = _PoliteAdapter(options.delay, stats, (options.connect_timeout, options.timeout),
                             max_seconds=options.max_answer_seconds, max_bytes=options.max_answer_bytes,
                             max_retries=retry, pool_connections=2, pool_maxsize=4)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = options.user_agent
    session.headers["Accept"] = "application/json"
    return session, stats


def _count_cache_hit(stats: RequestStats) -> Any:
    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        if getattr(response, "from_cache", False):
            stats.add(cache_hits=1)
        return response
    return hook


def server_time(response: requests.Response | None) -> datetime | None:
    """The server's clock from its Date header, as a naive UTC datetime."""
    if response is None:
        return None
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


# Exceptions callers map to their own errors; re-exported so no other module imports requests.
def _read_timed_out(exc: BaseException) -> bool:
    """A read timeout, however requests and urllib3 wrapped it (before or while streaming the body)."""
    seen: BaseException | None = exc
    for _ in range(10):  # a chain of causes is short; never loop on a cycle
        if seen is None:
            return False
        if isinstance(seen, (requests.exceptions.Timeout, urllib3_exceptions.ReadTimeoutError, TimeoutError)):
            return True
        nested = [a for a in getattr(seen, "args", ()) if isinstance(a, BaseException)]
        reason = getattr(seen, "reason", None)
        seen = reason if isinstance(reason, BaseException) else (nested[0] if nested else seen.__cause__ or seen.__context__)
    return False


Timeout = requests.exceptions.Timeout
ReadTimeoutError = urllib3_exceptions.ReadTimeoutError
ConnectionFailure = requests.exceptions.ConnectionError
RequestFailure = requests.exceptions.RequestException
Response = requests.Response
Session = requests.Session


# Resource files ---------------------------------------------------------------------------------
# Streamed straight to disk, never through requests-cache (which would hold the whole body in memory).

FILE_CHUNK = 1 << 20


@dataclass
class Download:
    """What one download attempt found; `status` is a link-checker verdict."""

    status: str
    """ok, not_modified, not_found, server_error, http_error, timeout, too_large, refused, unreachable."""
    reason: str = ""
    http_status: int | None = None
    final_url: str = ""
    size: int | None = None
    sha256: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    retry_after: float | None = None
    """Seconds the server asked to wait (Retry-After on a 429 or 503), None when it did not say."""


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header as seconds from now: delay-seconds or an HTTP-date (RFC 9110 10.2.3); None
    when absent or not understood."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class _FileSession(requests.Session):
    """The downloads' session: requests.Session, reading the proxy environment and ~/.netrc once per origin.

    requests scans the whole of os.environ two or three times per request for *_proxy variables (under cProfile,
    a quarter of the time a small file spends in requests) and looks for a netrc file on every request; a fetch
    run's environment does not change while it runs, so what was found for one (scheme, host, port) is kept and
    handed out again."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._netrc: dict[tuple[str, str], tuple[str, str] | None] = {}

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if self.trust_env and not request.auth and not self.auth and isinstance(request.url, str):
            parts = requests.compat.urlparse(request.url)
            key = (parts.scheme, parts.netloc)
            if key not in self._netrc:
                self._netrc[key] = requests.utils.get_netrc_auth(request.url)
            # the netrc credentials as requests would find them, or an auth that adds nothing (so requests does
            # not look again)
            request.auth = self._netrc[key] or _no_auth
        return super().prepare_request(request)

    def merge_environment_settings(self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        if proxies or not isinstance(url, str):  # proxies given for this request: requests' own way
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = requests.compat.urlparse(url)
        key = (parts.scheme, parts.netloc, self.trust_env, stream, verify, cert)
        merged = self._environment.get(key)
        if merged is None:
            merged = super().merge_environment_settings(url, {}, stream, verify, cert)
            self._environment[key] = merged
        return {**merged, "proxies": dict(merged["proxies"])}


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


def make_file_session(user_agent: str, retries: int = 1, hosts: int = 4, per_host: int = 4) -> requests.Session:
    """The session downloads share: `hosts` pools kept open (one per host in flight, so keep-alive
    survives many hosts), each of up to `per_host` connections."""
    session = _FileSession()
    retry = Retry(total=retries, connect=retries, read=retries, status=0, other=0, backoff_factor=0.5,
                  allowed_methods=frozenset({"GET"}), raise_on_status=False, raise_on_redirect=False)
    adapter = HTTPAdapter(max_retries=retry, pool_connections=hosts, pool_maxsize=per_host)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session


@dataclass
class _Answered:
    """Where walking the redirects ended: the first answer that is not a redirect (the caller reads and closes
    it), or why there is none (`failure`: refused, timeout, unreachable, or redirects when there were more than
    allowed) at `url`."""

    url: str
    response: requests.Response | None = None
    failure: str = ""
    reason: str = ""


def _follow(session: requests.Session, url: str, *, check_url: Any, timeout: tuple[float, float],
            max_redirects: int, headers: dict[str, str] | None = None) -> _Answered:
    """GET `url` (streamed), following up to `max_redirects` redirects; every URL, the first one too, is
    asked only when `check_url(url)` accepts it (it raises an exception whose message is the refusal
    reason)."""
    current = url
    for _ in range(max_redirects + 1):
        try:
            check_url(current)
        except Exception as exc:  # noqa: BLE001 - the policy's reason is the verdict
            return _Answered(current, failure="refused", reason=str(exc))
        try:
            response = session.get(current, headers=headers, stream=True, allow_redirects=False, timeout=timeout)
        except requests.exceptions.RequestException as exc:
            if isinstance(exc, requests.exceptions.Timeout) or _read_timed_out(exc):
                return _Answered(current, failure="timeout", reason=f"no answer within {timeout[1]:g} s")
            return _Answered(current, failure="unreachable", reason=str(exc).split("(Caused by")[0].strip()[:200])
        if response.is_redirect and response.headers.get("Location"):
            response.close()
            current = requests.compat.urljoin(current, response.headers["Location"])
            continue
        return _Answered(current, response)
    return _Answered(current, failure="redirects", reason=f"more than {max_redirects} redirects")


PIPELINE_AFTER = 8 << 20
"""Bytes of a body after which hashing and writing move off the reading thread (see _Sink)."""
PIPELINE_DEPTH = 4
"""Pieces (of at most FILE_CHUNK) waiting for the hasher or the writer: memory per download in flight."""


class _Sink:
    """Where a download's body goes: its sha256 and the file, piece by piece, in order.

    A small body is hashed and written by the thread that reads the socket. Past PIPELINE_AFTER bytes, a
    hashing thread and a writing thread take the pieces (hashlib and file writes release the GIL): on a large
    file reading, hashing and writing each cost about as much, and on two cores they overlap instead of adding
    up. A failed write is raised by the next `add` or by `close`, as the write itself would have."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0
        self._queues: list[queue.Queue[bytes | None]] = []
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self._errors:
            raise self._errors[0]
        if not self._threads and self.size > PIPELINE_AFTER:
            self._start()
        if self._threads:
            for pending in self._queues:
                pending.put(piece)
        else:
            self.digest.update(piece)
            self.handle.write(piece)

    def _start(self) -> None:
        for work in (self.digest.update, self.handle.write):
            pending: queue.Queue[bytes | None] = queue.Queue(PIPELINE_DEPTH)
            thread = threading.Thread(target=self._drain, args=(pending, work), daemon=True,
                                      name=f"{threading.current_thread().name}-{work.__name__}")
            self._queues.append(pending)
            self._threads.append(thread)
            thread.start()

    def _drain(self, pending: "queue.Queue[bytes | None]", work: Any) -> None:
        failed = False
        while (piece := pending.get()) is not None:
            if not failed:  # after a failure, only empty the queue so that `add` never blocks on it
                try:
                    work(piece)
                except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                    self._errors.append(exc)
                    failed = True

    def close(self) -> None:
        """Wait for the hashing and writing to finish (always call it); raise a write's failure."""
        for pending in self._queues:
            pending.put(None)
        for thread in self._threads:
            thread.join()
        self._queues, self._threads = [], []
        if self._errors:
            raise self._errors[0]


def download(session: requests.Session, url: str, dest: Path, *, check_url: Any, max_bytes: int,
             timeout: tuple[float, float], max_seconds: float, etag: str | None = None,
             last_modified: str | None = None, max_redirects: int = 5) -> Download:
    """GET `url` into `dest` (atomically), following redirects only to URLs `check_url` accepts.

    `check_url(url)` raises an exception whose message is the refusal reason. Conditional headers are
    sent only when `dest` already exists, so a 304 always has a file behind it.
    """
    headers: dict[str, str] = {}
    if dest.exists():
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + max_seconds
    answered = _follow(session, url, check_url=check_url, timeout=timeout, max_redirects=max_redirects,
                       headers=headers)
    current, response = answered.url, answered.response
    if response is None:
        status = "http_error" if answered.failure == "redirects" else answered.failure
        return Download(status, answered.reason, final_url=current)
    with response:
        found = Download("", http_status=response.status_code, final_url=current,
                         etag=response.headers.get("ETag"), last_modified=response.headers.get("Last-Modified"),
                         content_type=response.headers.get("Content-Type"))
        if response.status_code == 304:
            found.status, found.reason = "not_modified", "304 Not Modified"
            return found
        if response.status_code in (404, 410):
            found.status, found.reason = "not_found", f"{response.status_code} {response.reason}"
            return found
        if response.status_code in (429, 503):
            found.retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if response.status_code >= 500:
            found.status, found.reason = "server_error", f"{response.status_code} {response.reason}"
            return found
        if response.status_code != 200:
            found.status, found.reason = "http_error", f"{response.status_code} {response.reason}"
            return found
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            found.status, found.reason = "too_large", f"Content-Length {declared} > limit {max_bytes}"
            return found
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".part")
        landed = False
        try:
            with partial.open("wb") as handle:
                sink = _Sink(handle)
                try:
                    _receive(response, sink, found, max_bytes=max_bytes, deadline=deadline, max_seconds=max_seconds,
                             timeout=timeout)
                finally:
                    sink.close()
            if found.status:
                return found
            os.replace(partial, dest)
            landed = True
        finally:
            if not landed:
                partial.unlink(missing_ok=True)
        found.status, found.size, found.sha256 = "ok", sink.size, sink.digest.hexdigest()
        return found


def _receive(response: requests.Response, sink: _Sink, found: Download, *, max_bytes: int, deadline: float,
             max_seconds: float, timeout: tuple[float, float]) -> None:
    """Read the body into `sink` within `max_bytes` and the `deadline`; a failure is set on `found`."""
    size = 0
    try:
        # one socket read at a time (not iter_content's full 1 MiB), so a trickle meets the deadline
        while chunk := response.raw.read1(FILE_CHUNK, decode_content=True):
            size += len(chunk)
            if size > max_bytes:
                found.status, found.reason = "too_large", f"more than {max_bytes} bytes"
                return
            if time.monotonic() > deadline:
                found.status, found.reason = "timeout", f"download took over {max_seconds:g} s"
                return
            sink.add(chunk)
    except (requests.exceptions.RequestException, urllib3_exceptions.HTTPError) as exc:
        if _read_timed_out(exc):  # the server went silent mid-body
            found.status, found.reason = "timeout", f"no data for {timeout[1]:g} s after {size} bytes"
        else:
            found.status, found.reason = ("unreachable", f"connection broke after {size} bytes: {type(exc).__name__}")


@dataclass
class SmallAnswer:
    """A small text answer (robots.txt): `status` ok, http (any other status: see http_status), refused,
    timeout or unreachable; `body` at most max_bytes (the rest is not read)."""

    status: str
    http_status: int | None = None
    body: bytes = b""
    reason: str = ""
    final_url: str = ""
    redirects_exhausted: bool = False


def get_small(session: requests.Session, url: str, *, check_url: Any, max_bytes: int,
              timeout: tuple[float, float], max_seconds: float, max_redirects: int = 5) -> SmallAnswer:
    """GET a small document, following up to `max_redirects` redirects to URLs `check_url` accepts; the
    body is cut at `max_bytes` and the whole answer bounded by `max_seconds`."""
    deadline = time.monotonic() + max_seconds
    answered = _follow(session, url, check_url=check_url, timeout=timeout, max_redirects=max_redirects)
    current, response = answered.url, answered.response
    if response is None:
        if answered.failure == "redirects":
            return SmallAnswer("http", reason=answered.reason, final_url=current, redirects_exhausted=True)
        return SmallAnswer(answered.failure, reason=answered.reason, final_url=current)
    with response:
        answer = SmallAnswer("ok" if response.status_code == 200 else "http", http_status=response.status_code,
                             reason=f"{response.status_code} {response.reason}", final_url=current)
        if response.status_code != 200:
            return answer
        pieces: list[bytes] = []
        size = 0
        try:
            while size < max_bytes:
                if time.monotonic() > deadline:
                    return SmallAnswer("timeout", http_status=200, final_url=current,
                                       reason=f"still receiving after {max_seconds:g} s")
                piece = response.raw.read1(min(1 << 14, max_bytes - size), decode_content=True)
                if not piece:
                    break
                pieces.append(piece)
                size += len(piece)
        except (requests.exceptions.RequestException, urllib3_exceptions.HTTPError) as exc:
            kind = "timeout" if _read_timed_out(exc) else "unreachable"
            return SmallAnswer(kind, http_status=200, final_url=current,
                               reason=f"connection broke after {size} bytes: {type(exc).__name__}")
        answer.body = b"".join(pieces)[:max_bytes]
        return answer
