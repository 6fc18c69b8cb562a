"""Politeness per host for the fetch stage: robots.txt, a delay between requests, a connection limit, and
cooling off when a host answers 429 or 503 with Retry-After.

- robots.txt (RFC 9309) is read once per origin (scheme, host, port) per run, before any file of that
  origin is asked for, with protego; at most 500 KiB of it is parsed (2.5) and it must arrive within
  30 s. A 2xx answer's rules apply to our product token (the User-Agent up to its first `/`); a 4xx
  answer (no robots.txt) allows everything (2.3.1.3); a 5xx, a 429, a timeout or a connection that fails
  disallows the whole origin for this run (2.3.1.4); more than five redirects, or a redirect to a URL the
  address policy refuses, count as no robots.txt (2.3.1.2). `Crawl-delay` (and `Request-rate`) raise that
  host's delay, up to `[fetch] max_wait`.
- `Scheduler` keeps one queue per host (the host name of the URL, without port): no more than the host's
  `per_host` requests at once, and no request starts before the host's delay has passed since the last
  one ended, or before a Retry-After it was given has run out. A slow or hanging host only holds its own
  queue; the others go on. Among hosts ready to start, the one with the most work left (its queue times
  its mean request time so far) goes first, so the longest queue never starts last.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from protego import Protego

from harvester import http
from harvester.linkstatus import LinkStatus

ROBOTS_MAX_BYTES = 500 * 1024
"""RFC 9309 2.5: crawlers must parse at least the first 500 KiB; the rest is not read."""
ROBOTS_SECONDS = 30.0
"""The longest reading one robots.txt may take, start to end."""
ROBOTS_REDIRECTS = 5
"""RFC 9309 2.3.1.2: follow at least five consecutive redirects; past them, as if there were none."""
DEFAULT_PORTS = {"http": 80, "https": 443}


def host_of(url: str) -> str:
    """The host a URL's request goes to (lower case, no port): the unit of politeness; "" if none."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL (the unit robots.txt applies to), None for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port and port != DEFAULT_PORTS[scheme] else "")


def product_token(user_agent: str) -> str:
    """What robots.txt groups are matched against (RFC 9309 2.2.1): the User-Agent's product name."""
    token = user_agent.strip().split("/", 1)[0].split(None, 1)
    return token[0] if token else user_agent


@dataclass(frozen=True)
class Robots:
    """What one origin's robots.txt says for this run."""

    origin: str
    rules: Protego | None = None
    """The parsed file; None: no rules (everything allowed, unless `denied`)."""
    denied: str = ""
    """Why the whole origin is disallowed this run (robots.txt could not be read), or ""."""
    denied_status: str = str(LinkStatus.REFUSED)
    """The link status of a resource so disallowed: refused (5xx, 429), timeout or unreachable."""
    note: str = ""
    """How it was read, for the run's notes."""
    crawl_delay: float = 0.0
    """Seconds between two requests it asks for (Crawl-delay or Request-rate), capped at max_wait."""

    def verdict(self, url: str, token: str) -> tuple[str, str] | None:
        """None when `url` may be fetched, else (link status, reason naming robots.txt)."""
        if self.denied:
            return self.denied_status, self.denied
        if self.rules is not None and not self.rules.can_fetch(url, token):
            return str(LinkStatus.REFUSED), f"disallowed by {self.origin}/robots.txt for {token}"
        return None


def read_robots(session: http.Session, origin: str, *, check_url: Callable[[str], Any], token: str,
                timeout: tuple[float, float], max_wait: float) -> Robots:
    """Fetch and judge `origin`'s robots.txt (see the module doc)."""
    url = f"{origin}/robots.txt"
    answer = http.get_small(session, url, check_url=check_url, max_bytes=ROBOTS_MAX_BYTES,
                            timeout=(timeout[0], min(timeout[1], ROBOTS_SECONDS)), max_seconds=ROBOTS_SECONDS,
                            max_redirects=ROBOTS_REDIRECTS)
    rfc = "the whole host is disallowed for this run (RFC 9309 2.3.1.4)"
    if answer.status == "ok":
        text = answer.body.decode("utf-8", "replace").lstrip("\ufeff")
        try:
            rules = Protego.parse(text)
        except Exception as exc:  # noqa: BLE001 - a parser failure is no reason to stop the run
            return Robots(origin, note=f"{url}: not understood ({type(exc).__name__}), so no rules")
        asked = [rules.crawl_delay(token) or 0.0]
        rate = rules.request_rate(token)
        if rate is not None and rate.requests:
            asked.append(rate.seconds / rate.requests)
        wanted = max(float(a) for a in asked)
        delay = min(wanted, max_wait)
        note = f"{url}: rules for {token}" + (f", Crawl-delay {wanted:g} s" if wanted else "") + \
            (f" (capped at max_wait {max_wait:g} s)" if wanted > max_wait else "")
        return Robots(origin, rules=rules, note=note, crawl_delay=delay)
    if answer.status == "refused":  # not even the file's own host: the file will be refused the same way
        return Robots(origin, note=f"{url}: not asked ({answer.reason})")
    if answer.status == "http":
        status = answer.http_status
        if answer.redirects_exhausted or (status is not None and 400 <= status < 500 and status != 429):
            return Robots(origin, note=f"{url}: {answer.reason}, so no rules (RFC 9309 2.3.1.3)")
        return Robots(origin, denied=f"{url} answered {answer.reason}: {rfc}", note=f"{url}: {answer.reason}")
    if answer.status == "timeout":
        return Robots(origin, denied=f"{url}: {answer.reason}: {rfc}", denied_status=str(LinkStatus.TIMEOUT),
                      note=f"{url}: {answer.reason}")
    return Robots(origin, denied=f"{url} unreachable ({answer.reason}): {rfc}",
                  denied_status=str(LinkStatus.UNREACHABLE), note=f"{url}: unreachable")


class RobotsCache:
    """Every origin's robots.txt for one run, each read once (threads asking at once wait for that one)."""

    def __init__(self, session: http.Session, *, check_url: Callable[[str], Any], token: str,
                 timeout: tuple[float, float], max_wait: float) -> None:
        self._session = session
        self._check_url = check_url
        self.token = token
        self._timeout = timeout
        self._max_wait = max_wait
        self._known: dict[str, Robots] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def known(self, origin: str) -> Robots | None:
        with self._lock:
            return self._known.get(origin)

    def load(self, origin: str) -> Robots:
        """The origin's robots, read now unless already read."""
        with self._lock:
            if origin in self._known:
                return self._known[origin]
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:
            found = self.known(origin)
            if found is None:
                found = read_robots(self._session, origin, check_url=self._check_url, token=self.token,
                                    timeout=self._timeout, max_wait=self._max_wait)
                with self._lock:
                    self._known[origin] = found
            return found

    def seed(self, robots: Robots) -> None:
        """What an origin's robots.txt says, as read elsewhere (by the driver, for a worker's cache)."""
        with self._lock:
            self._known.setdefault(robots.origin, robots)

    def verdict(self, url: str) -> tuple[str, str] | None:
        """None when robots.txt lets us fetch `url` (reading that origin's robots.txt if need be)."""
        origin = origin_of(url)
        return None if origin is None else self.load(origin).verdict(url, self.token)

    def all(self) -> list[Robots]:
        with self._lock:
            return list(self._known.values())


class RobotsRefusal(Exception):
    """A URL robots.txt disallows (met on a redirect): the message is the reason recorded."""


@dataclass
class Host:
    """One host's queue and the state of its politeness."""

    name: str
    delay: float
    per_host: int
    queue: deque[Any] = field(default_factory=deque)
    active: int = 0
    next_at: float = 0.0
    """No request starts before this time (time.monotonic())."""
    loading: str | None = None
    """The origin whose robots.txt is being read (the host waits for it)."""
    spent: float = 0.0
    finished: int = 0

    def mean_seconds(self) -> float:
        return self.spent / self.finished if self.finished else 1.0

    def work_left(self) -> float:
        return len(self.queue) * self.mean_seconds()


class Scheduler:
    """Per-host queues: which request may start now (see the module doc). Used by one thread only."""

    def __init__(self, limits: Callable[[str], tuple[float, int]]) -> None:
        self._limits = limits
        self.hosts: dict[str, Host] = {}

    def host(self, name: str) -> Host:
        found = self.hosts.get(name)
        if found is None:
            delay, per_host = self._limits(name)
            found = self.hosts[name] = Host(name, delay, max(1, per_host))
        return found

    def add(self, name: str, job: Any) -> None:
        self.host(name).queue.append(job)

    def ready(self, now: float) -> list[Host]:
        """Hosts that may start a request now, the one with the most work left first."""
        hosts = [h for h in self.hosts.values()
                 if h.queue and h.active < h.per_host and h.next_at <= now and h.loading is None]
        return sorted(hosts, key=lambda h: -h.work_left())

    def next_start(self) -> float | None:
        """When the next host waiting only for its delay may start (None: none is waiting for that)."""
        times = [h.next_at for h in self.hosts.values()
                 if h.queue and h.active < h.per_host and h.loading is None]
        return min(times) if times else None

    def started(self, host: Host, now: float) -> None:
        host.active += 1
        host.next_at = max(host.next_at, now + host.delay)  # with per_host > 1: spaced starts too

    def ended(self, host: Host, now: float, seconds: float | None = None) -> None:
        """A request to `host` ended: the next waits the host's delay from now."""
        host.active -= 1
        host.next_at = max(host.next_at, now + host.delay)
        if seconds is not None:
            host.spent += seconds
            host.finished += 1

    def cool(self, host: Host, now: float, seconds: float) -> None:
        """The host asked us to wait (Retry-After)."""
        host.next_at = max(host.next_at, now + seconds)

    def pending(self) -> bool:
        return any(h.queue for h in self.hosts.values())
