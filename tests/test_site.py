"""The built website, loaded in headless Chromium with the outside network off.

Chromium gets a host-resolver rule that makes every host name except the local server's address
unresolvable, and it records a NetLog. The tests then check that the pages work offline (math is
typeset by the site's own MathJax, the Chinese search finds Chinese words) and that no page even
tried to reach another host. Requests count as the page's when the NetLog files them under the
page's site (their network isolation key); Chromium's own background requests (update checks and
the like, all refused by the resolver rule) are filed under other keys and are not the site's doing.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest

from conftest import required

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"


LOCAL_SITE = "http://127.0.0.1"


@contextmanager
def serve(directory: Path):
    """Serve a folder on 127.0.0.1 on a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{LOCAL_SITE}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site_url():
    if not (SITE / "index.html").is_file():
        if required("EMBEDLAB_REQUIRE_SITE"):
            pytest.fail("no built website in _build/html: `make test` builds it first (make book)")
        pytest.skip("no built website in _build/html; run `make book` first")
    with serve(SITE) as url:
        yield url


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def chromium():
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if required("EMBEDLAB_REQUIRE_SITE"):
            pytest.fail("Debian's chromium is not installed; `make test` installs it when run as root")
        pytest.skip("chromium is not installed")
    return binary


def load(chromium: str, url: str, tmp_path: Path) -> tuple[str, set[str]]:
    """The page's DOM after its scripts ran, and every URL requested on behalf of the page."""
    netlog = tmp_path / "netlog.json"
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-quic", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # the outside network is off
        f"--log-net-log={netlog}", "--virtual-time-budget=20000", "--dump-dom", url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"chromium failed on {url}: {result.stderr[-2000:]}"
    return result.stdout, _requested_urls(netlog)


def _requested_urls(netlog: Path) -> set[str]:
    """URLs of the requests a Chromium NetLog files under the local site (the page's own requests)."""
    text = netlog.read_text(encoding="utf-8", errors="replace").rstrip()
    if not text.endswith("}"):  # a log cut at exit lacks its closing brackets
        text = text.rstrip(",") + "]}"
    urls = set()
    for event in json.loads(text).get("events", []):
        params = event.get("params", {})
        if "url" in params and params.get("network_isolation_key", "").split(" ")[0] == LOCAL_SITE:
            urls.add(params["url"])
    return urls


def _outside(urls: set[str]) -> set[str]:
    return {u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss")
            and urlparse(u).hostname not in ("127.0.0.1",)}


def test_math_is_typeset_by_the_sites_own_mathjax(site_url, chromium, tmp_path):
    dom, urls = load(chromium, f"{site_url}/book/notation.html", tmp_path)
    assert len(re.findall(r"<mjx-container", dom)) >= 10, "MathJax did not typeset the formulas"
    assert any(u.endswith("/_static/mathjax/tex-chtml.js") for u in urls), "MathJax was not loaded from the site"
    assert not _outside(urls), f"the page tried to reach other hosts: {sorted(_outside(urls))}"


def search(chromium: str, site_url: str, word: str, tmp_path: Path) -> tuple[list[str], set[str]]:
    """The result links of the site search for a word, and the URLs the search page requested."""
    dom, urls = load(chromium, f"{site_url}/search.html?q={quote(word)}", tmp_path)
    results = dom.split('id="search-results"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<a[^>]*href="([^"]+)"', results), urls


@pytest.mark.parametrize("word", ["人民日报", "中国"])
def test_chinese_word_is_found_by_site_search(site_url, chromium, tmp_path, word):
    results, urls = search(chromium, site_url, word, tmp_path)
    assert any("00_tour" in href for href in results), f"search for {word} found {results[:5]}"
    assert not _outside(urls), f"the search page tried to reach other hosts: {sorted(_outside(urls))}"


def test_search_for_a_word_not_in_the_book_finds_nothing(site_url, chromium, tmp_path):
    results, _ = search(chromium, site_url, "量子纠缠", tmp_path)  # "quantum entanglement"
    assert results == []


def test_the_checks_catch_a_page_that_reaches_out(chromium, tmp_path):
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "index.html").write_text(
        '<html><head><title>start</title></head><body>'
        '<img src="https://example.com/x.png" onerror="document.title=\'blocked\'"></body></html>')
    with serve(probe) as url:
        dom, urls = load(chromium, f"{url}/index.html", tmp_path)
    assert "<title>blocked</title>" in dom  # the outside request failed: the network is off
    assert _outside(urls) == {"https://example.com/x.png"}  # and the NetLog check sees the attempt
