"""harvester.http's downloads over real HTTP on loopback: a large body goes through the hashing and writing
threads intact, the limits hold there too, a failed write still reaches the caller, both downloads and
robots.txt walk redirects the same way (every hop checked first, at most max_redirects), and the proxy
environment, read once per host, is still honoured."""
from __future__ import annotations

import base64
import errno
import hashlib
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from werkzeug import Response

from bench.bench_fetch import FileHost, body_of
from harvester import http

ROOT = Path(__file__).resolve().parent.parent
BIG = random.Random(12).randbytes(3 * http.PIPELINE_AFTER + 12_345)  # varied bytes: a piece out of order shows


def get(url: str, dest: Path, *, max_bytes: int = 1 << 30, check_url: Any = None) -> http.Download:
    return http.download(http.make_file_session("test"), url, dest, check_url=check_url or (lambda u: None),
                         max_bytes=max_bytes, timeout=(5, 5), max_seconds=60)


def pieces(data: bytes, size: int = 700_001) -> Any:
    """The body in uneven pieces, chunked (no Content-Length)."""
    return Response((data[i:i + size] for i in range(0, len(data), size)), content_type="text/csv")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_large_body_is_hashed_and_written_intact(httpserver, tmp_path, chunked):
    assert len(BIG) > 2 * http.PIPELINE_AFTER  # past the point where hashing and writing leave the reading thread
    if chunked:
        httpserver.expect_request("/big.csv").respond_with_handler(lambda _request: pieces(BIG))
    else:
        httpserver.expect_request("/big.csv").respond_with_data(BIG, content_type="text/csv")
    dest = tmp_path / "big.csv"
    result = get(httpserver.url_for("/big.csv"), dest)
    assert (result.status, result.size, result.sha256) == ("ok", len(BIG), hashlib.sha256(BIG).hexdigest())
    assert dest.read_bytes() == BIG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]


def test_past_max_bytes_while_the_threads_write_nothing_lands(httpserver, tmp_path):
    httpserver.expect_request("/big.csv").respond_with_handler(lambda _request: pieces(BIG))
    dest = tmp_path / "big.csv"
    dest.write_bytes(b"the last good file\n")
    limit = 2 * http.PIPELINE_AFTER
    result = get(httpserver.url_for("/big.csv"), dest, max_bytes=limit)
    assert (result.status, result.reason) == ("too_large", f"more than {limit} bytes")
    assert dest.read_bytes() == b"the last good file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv"]  # no .part left


WRITE_LIMITED = """
import json, resource, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from harvester import http
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit a write fails with EFBIG instead of killing us
limit = int(sys.argv[4])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
dest = Path(sys.argv[3])
try:
    http.download(http.make_file_session("test"), sys.argv[2], dest, check_url=lambda u: None, max_bytes=1 << 30,
                  timeout=(5, 5), max_seconds=60)
    print(json.dumps({"error": None}))
except OSError as exc:
    print(json.dumps({"error": type(exc).__name__, "errno": exc.errno,
                      "left": sorted(p.name for p in dest.parent.iterdir())}))
"""


@pytest.mark.parametrize("limit", [1 << 20, http.PIPELINE_AFTER + (4 << 20)], ids=["reading-thread", "writing-thread"])
def test_a_failed_write_reaches_the_caller(httpserver, tmp_path, limit):
    """A write that fails (here the file-size limit; a full disk alike) is raised to the caller, whichever
    thread wrote, and leaves no temporary file."""
    httpserver.expect_request("/big.csv").respond_with_data(BIG, content_type="text/csv")
    folder = tmp_path / "out"
    folder.mkdir()
    done = subprocess.run([sys.executable, "-c", WRITE_LIMITED, str(ROOT), httpserver.url_for("/big.csv"),
                           str(folder / "big.csv"), str(limit)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"error": "OSError", "errno": errno.EFBIG, "left": []}


def redirect_chain(httpserver, hops: int) -> list[str]:
    """/hop0 -> /hop1 -> ... -> /hop<hops-1> -> /robots.txt-like /end.txt (relative and absolute Locations)."""
    urls = [httpserver.url_for(f"/hop{i}") for i in range(hops)] + [httpserver.url_for("/end.txt")]
    for i in range(hops):
        target = urls[i + 1] if i % 2 else urls[i + 1].removeprefix(httpserver.url_for("/")[:-1])
        httpserver.expect_request(f"/hop{i}").respond_with_data("", status=302, headers={"Location": target})
    httpserver.expect_request("/end.txt").respond_with_data("User-agent: *\nDisallow: /x\n", content_type="text/plain")
    return urls


def both(url: str, tmp_path: Path, checked: list[str],
         refuse: str | None = None) -> tuple[http.Download, http.SmallAnswer]:
    """The same URL through download and get_small, each with a check_url that logs (and refuses `refuse`)."""
    def check(u: str) -> None:
        checked.append(u)
        if u == refuse:
            raise ValueError(f"{u} is not allowed")
    session = http.make_file_session("test")
    fetched = http.download(session, url, tmp_path / "end.txt", check_url=check, max_bytes=1 << 20,
                            timeout=(5, 5), max_seconds=60)
    small = http.get_small(session, url, check_url=check, max_bytes=1 << 20, timeout=(5, 5), max_seconds=60)
    return fetched, small


def test_five_redirects_are_followed_each_checked_first(httpserver, tmp_path):
    urls = redirect_chain(httpserver, 5)
    checked: list[str] = []
    fetched, small = both(urls[0], tmp_path, checked)
    assert (fetched.status, fetched.final_url, fetched.http_status) == ("ok", urls[-1], 200)
    assert (small.status, small.final_url, small.body) == ("ok", urls[-1], b"User-agent: *\nDisallow: /x\n")
    assert checked == urls + urls


def test_past_max_redirects_the_next_url_is_neither_checked_nor_asked(httpserver, tmp_path):
    urls = redirect_chain(httpserver, 6)
    checked: list[str] = []
    fetched, small = both(urls[0], tmp_path, checked)
    assert (fetched.status, fetched.reason, fetched.final_url) == ("http_error", "more than 5 redirects", urls[-1])
    assert (small.status, small.reason, small.final_url, small.redirects_exhausted) == \
        ("http", "more than 5 redirects", urls[-1], True)
    assert checked == urls[:-1] + urls[:-1]
    assert "/end.txt" not in [request.path for request, _ in httpserver.log]
    assert not (tmp_path / "end.txt").exists()


def test_a_refused_hop_stops_the_walk_before_it_is_asked(httpserver, tmp_path):
    urls = redirect_chain(httpserver, 4)
    checked: list[str] = []
    fetched, small = both(urls[0], tmp_path, checked, refuse=urls[2])
    reason = f"{urls[2]} is not allowed"
    assert (fetched.status, fetched.reason, fetched.final_url) == ("refused", reason, urls[2])
    assert (small.status, small.reason, small.final_url) == ("refused", reason, urls[2])
    assert checked == urls[:3] + urls[:3]
    assert [request.path for request, _ in httpserver.log] == ["/hop0", "/hop1"] * 2


def test_the_proxy_environment_is_still_honoured(tmp_path, monkeypatch):
    """The session reads *_proxy once per host: a host behind the proxy goes through it every time, and a
    host in no_proxy, asked in between by the same session, goes straight."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "all_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
    with FileHost("127.0.0.2") as proxy, FileHost("127.0.0.3") as direct:
        monkeypatch.setenv("http_proxy", proxy.base)
        monkeypatch.setenv("no_proxy", "127.0.0.3")
        session = http.make_file_session("test")
        outside = ["http://datos.example.invalid/a.csv", "http://datos.example.invalid/b.csv"]
        results = [http.download(session, url, tmp_path / f"{i}.csv", check_url=lambda u: None, max_bytes=1 << 20,
                                 timeout=(5, 5), max_seconds=60)
                   for i, url in enumerate([outside[0], direct.url("/c.csv"), outside[1]])]
        assert [r.status for r in results] == ["ok", "ok", "ok"]
        deadline = time.monotonic() + 5  # a FileHost logs a request just after answering it
        while len(proxy.files()) + len(direct.files()) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [p.path for p in proxy.files()] == outside
        assert [p.path for p in direct.files()] == ["/c.csv"]
        assert (tmp_path / "0.csv").read_bytes() == body_of(outside[0])
        assert (tmp_path / "1.csv").read_bytes() == body_of("/c.csv")


def test_netrc_credentials_still_go_to_their_host_only(httpserver, tmp_path, monkeypatch):
    """The session reads the netrc file once per host: its host gets the credentials every time, another host
    asked in between by the same session never does."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine localhost login ana password secreto\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    httpserver.expect_request("/f.csv").respond_with_data("a,b\n1,2\n", content_type="text/csv")
    named = httpserver.url_for("/f.csv")
    assert named.startswith("http://localhost:")
    other = named.replace("http://localhost:", "http://127.0.0.1:")
    session = http.make_file_session("test")
    results = [http.download(session, url, tmp_path / f"{i}.csv", check_url=lambda u: None, max_bytes=1 << 20,
                             timeout=(5, 5), max_seconds=60)
               for i, url in enumerate([named, other, named, other])]
    assert [r.status for r in results] == ["ok"] * 4
    basic = "Basic " + base64.b64encode(b"ana:secreto").decode()
    assert [request.headers.get("Authorization") for request, _ in httpserver.log] == [basic, None, basic, None]
