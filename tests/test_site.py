"""The built website, in headless Chromium (or Chrome) with the outside network off, as a reader sees it.

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: no port, no
extra package). A host-resolver rule makes every host but 127.0.0.1 unresolvable, so nothing can
be fetched from outside; the tests also record every request a page makes and fail on any that
leaves the site, on any file the site lacks (404), and on any JavaScript error.

Checked at a desktop width (1400 px) and a phone width (390 px): no page is wider than the screen;
formulas are typeset by the site's own MathJax; Chinese text is marked lang="zh" and drawn with the
site's own CJK font (the test asks Chromium which font drew the glyphs, so a CJK font installed on
the machine cannot stand in for it); the search (Pagefind) finds single Chinese characters, a
phrase and the Chinese glossary terms on the right page.

Without Chromium or Chrome the module is skipped with one line, unless CI=true or
EMBEDLAB_REQUIRE_SITE=1, where it fails. `EMBEDLAB_CHROME=/path/to/browser` names the browser.
"""

from __future__ import annotations

import fcntl
import functools
import http.server
import json
import os
import re
import select
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import pytest

from conftest import required

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from browser import NAMES, find_browser  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
WIDTHS = {"desktop": (1400, 900), "phone": (390, 844)}
FONT_FILE = "/_static/fonts/embedlab-cjk.woff2"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
BROWSER = find_browser()
if BROWSER is None:
    message = ("site tests skipped: no Chromium or Chrome found (looked for $EMBEDLAB_CHROME, "
               f"{', '.join(NAMES)} on the PATH, and the usual install places)")
    if required("EMBEDLAB_REQUIRE_SITE"):
        pytest.fail(message.replace("skipped", "cannot run") + "; CI=true or EMBEDLAB_REQUIRE_SITE=1 requires them",
                    pytrace=False)
    pytest.skip(message, allow_module_level=True)


# --- a local server that records what was asked of it ---------------------------------------------

class _RecordingHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass

    def log_request(self, code="-", size="-"):
        self.server.requests.append((unquote(urlparse(self.path).path), int(code)))


@contextmanager
def serve(directory: Path):
    """Serve a folder on 127.0.0.1 on a free port; yields (base URL, list of (path, status))."""
    handler = functools.partial(_RecordingHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requests
    finally:
        server.shutdown()
        server.server_close()


# --- a small DevTools-protocol client over a pipe -------------------------------------------------

class Browser:
    """Headless Chromium with `--remote-debugging-pipe` (it reads commands on fd 3, answers on fd 4)."""

    def __init__(self, binary: str, profile: Path):
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # Park the child's ends above 10, so moving them onto 3 and 4 cannot clobber one another.
        child_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
        for fd in (to_browser_r, from_browser_w):
            os.close(fd)

        def onto_3_and_4():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        command = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-quic", "--disable-dev-shm-usage", "--disable-extensions", "--hide-scrollbars",
            f"--user-data-dir={profile}", "--remote-debugging-pipe",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # the outside network is off
            "about:blank",
        ]
        self.process = subprocess.Popen(command, preexec_fn=onto_3_and_4, close_fds=False,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(child_in)
        os.close(child_out)
        self.write_fd, self.read_fd = to_browser_w, from_browser_r
        self.buffer, self.events, self.next_id = b"", [], 0

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:  # noqa: BLE001 - the browser may already be gone
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self.write_fd)
        os.close(self.read_fd)

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                raise TimeoutError("the browser did not answer in time")
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise RuntimeError("the browser closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self.events.remove(event)
                    return event
            self.events.append(self._read_message(deadline))


class Tab:
    """One page in its own target, with everything it requested and every error it raised."""

    def __init__(self, browser: Browser, width: int, height: int):
        self.browser = browser
        self.target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.call("Target.attachToTarget", {"targetId": self.target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log", "DOM"):
            self.call(f"{domain}.enable")
        self.call("CSS.enable")
        self.call("Network.setCacheDisabled", {"cacheDisabled": True})  # every file is fetched, and counted
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})

    def call(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        return self.browser.call(method, params, session=self.session, timeout=timeout)

    def open(self, url: str) -> None:
        self.browser.events = [e for e in self.browser.events if e.get("sessionId") != self.session]
        self.call("Page.navigate", {"url": url})
        self.browser.wait_for("Page.loadEventFired", self.session)
        # Fonts loaded and MathJax finished, then one more frame for layout.
        self.evaluate("""(async () => {
            await document.fonts.ready;
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            return true; })()""")

    def evaluate(self, expression: str, timeout: float = 60):
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in result:
            raise AssertionError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expression}")

    def _mine(self, method: str) -> list[dict]:
        self.browser.call("Browser.getVersion")  # flush pending events into the list
        return [e["params"] for e in self.browser.events
                if e.get("sessionId") == self.session and e.get("method") == method]

    def requested(self) -> set[str]:
        return {p["request"]["url"] for p in self._mine("Network.requestWillBeSent")}

    def errors(self) -> list[str]:
        found = [p["exceptionDetails"].get("exception", {}).get("description")
                 or p["exceptionDetails"].get("text") for p in self._mine("Runtime.exceptionThrown")]
        found += [" ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
                  for p in self._mine("Runtime.consoleAPICalled") if p["type"] == "error"]
        found += [f"{p['entry']['text']} {p['entry'].get('url', '')}" for p in self._mine("Log.entryAdded")
                  if p["entry"]["level"] == "error"]
        return found

    def fonts_drawing(self, selector: str) -> list[dict]:
        """The fonts Chromium actually used to draw the text of the first element matching selector."""
        root = self.call("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = self.call("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        assert node, f"no element matches {selector}"
        return self.call("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]

    def close(self):
        self.browser.call("Target.closeTarget", {"targetId": self.target})


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").is_file():
        if required("EMBEDLAB_REQUIRE_SITE"):
            pytest.fail("no built website in _build/html: `make test` builds it first (make book)")
        pytest.skip("no built website in _build/html; run `make book` first")
    with serve(SITE) as (url, requests):
        yield url, requests


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Browser(BROWSER, tmp_path_factory.mktemp("profile"))
    yield chromium
    chromium.close()


@contextmanager
def tab(browser: Browser, width: str = "desktop"):
    page = Tab(browser, *WIDTHS[width])
    try:
        yield page
    finally:
        page.close()


PAGES = sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
               if not p.relative_to(SITE).as_posix().startswith(("_", "pagefind/"))
               and 'http-equiv="refresh"' not in p.read_text(encoding="utf-8")[:2000].lower())  # not the redirect
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]


def outside(urls: set[str], site_url: str) -> set[str]:
    return {u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss") and not u.startswith(site_url)}


# --- every page, at both widths -------------------------------------------------------------------

WIDER_THAN_SCREEN = """(() => {
    const screen = document.documentElement.clientWidth;
    const page = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
    const culprits = [];
    if (page > screen) {
        for (const el of document.querySelectorAll("body *")) {
            const r = el.getBoundingClientRect();
            if (r.right > screen + 1 && r.width > 0) culprits.push(
                `${el.tagName.toLowerCase()}.${[...el.classList].join(".")} right=${Math.round(r.right)}`);
            if (culprits.length >= 5) break;
        }
    }
    return {screen, page, culprits};
})()"""

CHINESE_NOT_MARKED = """(() => {
    const cjk = /[\\u3400-\\u4dbf\\u4e00-\\u9fff]/;
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const unmarked = [];
    while (walker.nextNode()) {
        const node = walker.currentNode;
        if (!cjk.test(node.data) || node.parentElement.closest("script, style, #book-search")) continue;
        const lang = node.parentElement.closest("[lang]");
        if (!lang || !lang.lang.startsWith("zh")) unmarked.push(node.data.trim().slice(0, 30));
    }
    return unmarked.slice(0, 5);
})()"""


CODE_THAT_SCROLLS = """[...document.querySelectorAll(".bd-article pre")].filter(
    p => p.scrollWidth > p.clientWidth + 1).map(
    p => `${p.scrollWidth} px in ${p.clientWidth} px: ${p.textContent.trim().slice(0, 40)}`)"""


def visit_every_page(site, browser, width: str) -> dict[str, list[str]]:
    """Open every page once at ``width`` and note each kind of problem it shows, per kind.

    One visit serves every check of a page at one width: opening a chapter (fonts, MathJax,
    figures) is most of what these checks cost.
    """
    site_url, requests = site
    problems: dict[str, list[str]] = {"page": [], "code": []}
    with tab(browser, width) as page:
        for path in PAGES:
            requests.clear()
            page.open(f"{site_url}/{path}")
            box = page.evaluate(WIDER_THAN_SCREEN)
            if box["page"] > box["screen"]:
                problems["page"].append(f"{path}: {box['page']} px wide on a {box['screen']} px screen: {box['culprits']}")
            if errors := page.errors():
                problems["page"].append(f"{path}: errors {errors[:3]}")
            if reached := outside(page.requested(), site_url):
                problems["page"].append(f"{path}: tried to reach other hosts {sorted(reached)[:3]}")
            if missing := sorted({p for p, status in requests if status >= 400}):
                problems["page"].append(f"{path}: the site lacks {missing}")
            if unmarked := page.evaluate(CHINESE_NOT_MARKED):
                problems["page"].append(f"{path}: Chinese not marked lang=zh: {unmarked}")
            if path in CHAPTERS:
                problems["code"] += [f"{path}: {h}" for h in page.evaluate(CODE_THAT_SCROLLS)]
    return problems


@pytest.fixture(scope="module")
def desktop_visit(site, browser):
    return visit_every_page(site, browser, "desktop")


@pytest.fixture(scope="module")
def phone_visit(site, browser):
    return visit_every_page(site, browser, "phone")


# The checks that read one width's visit run on one xdist worker (make test-site: --dist loadgroup,
# grouped by tests/conftest.py's scheduler, SITE_VISITS; the marks take over once pytest-xdist's
# xdist_group works under pytest 9 again), so each width's pages are opened once.
@pytest.mark.parametrize("width", [pytest.param(w, marks=pytest.mark.xdist_group(w)) for w in WIDTHS])
def test_every_page_fits_the_screen_works_offline_and_raises_no_error(request, width):
    problems = request.getfixturevalue(f"{width}_visit")["page"]
    assert not problems, "\n".join(problems)


@pytest.mark.xdist_group("desktop")
def test_no_code_block_hides_text_at_desktop_width(desktop_visit):
    hidden = desktop_visit["code"]
    assert not hidden, f"{len(hidden)} code blocks scroll sideways at 1400 px:\n" + "\n".join(hidden[:10])


# --- exercises ----------------------------------------------------------------------------------

SOLUTION_STATE = """(() => {
    const sol = document.querySelector(".solution.dropdown");
    if (!sol) return null;
    const shown = el => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
    const output = sol.querySelector(".cell_output");
    return {id: sol.id, output: !!output, text: output ? output.textContent.trim().slice(0, 200) : "",
            visible: shown(output), button: !!sol.querySelector("button.toggle-button")};
})()"""


def test_a_solution_is_closed_until_opened_and_shows_its_executed_output(site, browser):
    site_url, _ = site
    with tab(browser) as page:
        for path in CHAPTERS:
            page.open(f"{site_url}/{path}")
            closed = page.evaluate(SOLUTION_STATE)
            if closed:
                break
        assert closed, "no chapter page has a solution (.solution.dropdown)"
        assert closed["output"] and closed["text"], f"{path}: the solution {closed['id']} shows no stored output"
        assert closed["button"] and not closed["visible"], f"{path}: the solution {closed['id']} is open on arrival"
        page.evaluate('document.querySelector(".solution.dropdown button.toggle-button").click()')
        time.sleep(0.5)
        opened = page.evaluate(SOLUTION_STATE)
    assert opened["visible"], f"{path}: the solution {closed['id']} stays closed when its button is clicked"


# --- math, fonts, search --------------------------------------------------------------------------

def test_math_is_typeset_by_the_sites_own_mathjax(site, browser):
    site_url, _ = site
    with tab(browser) as page:
        page.open(f"{site_url}/book/notation.html")
        assert page.evaluate("document.querySelectorAll('mjx-container').length") >= 10
        assert any(u.startswith(f"{site_url}/_static/mathjax/tex-chtml.js") for u in page.requested())
        assert page.evaluate("document.querySelectorAll('mjx-merror, .MathJax_Error').length") == 0


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path, selector", [
    ("notebooks/01_text_to_ids.html", ".bd-article p span[lang=zh]"),  # prose
    ("notebooks/01_text_to_ids.html", ".bd-article .cell_output pre span[lang=zh]"),  # a stored output
    ("book/glossary.html", ".glossary-table td:nth-child(2) span[lang=zh]"),  # the glossary
])
def test_chinese_is_drawn_with_the_sites_own_font(site, browser, width, path, selector):
    site_url, requests = site
    with tab(browser, width) as page:
        requests.clear()
        page.open(f"{site_url}/{path}")
        fonts = page.fonts_drawing(selector)
        assert fonts and all(f["isCustomFont"] and f["familyName"].startswith("Noto Sans CJK") for f in fonts), (
            f"{selector} on {path} was drawn with {fonts}, not only with the site's web font")
        assert page.evaluate("document.querySelectorAll('[lang=zh] [lang=zh]').length") == 0, "nested lang=zh"
        status = page.evaluate("[...document.fonts].filter(f => f.family.includes('Embedlab CJK')).map(f => f.status)")
        assert "loaded" in status, f"the web font did not load: {status}"
        assert (FONT_FILE, 200) in requests, "the CJK font was not fetched from the site"


def search(browser: Browser, site_url: str, query: str) -> list[str]:
    """The result links that the site's search page shows for a query."""
    with tab(browser) as page:
        page.open(f"{site_url}/search.html?q={quote(query)}")
        # Wait for the count ("3 results for ...") and for every listed result to have its link.
        page.wait_until("""(() => { const m = document.querySelector('.pagefind-ui__message');
            if (!m || !/result/.test(m.textContent)) return false;
            const shown = document.querySelectorAll('.pagefind-ui__result').length;
            return shown === document.querySelectorAll('.pagefind-ui__result-link').length
                && (shown > 0 || /^No results/.test(m.textContent)); })()""")
        assert not page.errors(), page.errors()
        assert not outside(page.requested(), site_url)
        links = page.evaluate("[...document.querySelectorAll('.pagefind-ui__result-link')].map(a => a.href)")
        if links and CJK.search(query):  # the matched Chinese in the snippets is drawn with the site's font
            fonts = page.fonts_drawing(".pagefind-ui__result-excerpt mark")
            marked = page.evaluate("document.querySelector('.pagefind-ui__result-excerpt mark').textContent")
            drawn = sum(f["glyphCount"] for f in fonts if f["isCustomFont"] and f["familyName"].startswith("Noto Sans CJK"))
            assert drawn >= len(CJK.findall(marked)), f"search results drew {marked!r} with {fonts}"
        excerpts = page.evaluate("[...document.querySelectorAll('.pagefind-ui__result-excerpt')].map(e => e.textContent)")
    for excerpt in excerpts:  # snippets show prose, not TeX source or button labels
        assert "\\(" not in excerpt and "\\frac" not in excerpt and ".ipynb" not in excerpt, excerpt
    return [urlparse(link).path for link in links]


@pytest.mark.parametrize("query, page", [
    ("词", "01_text_to_ids"),  # one character: chapter 01 is about 字 against 词
    ("江", "02_word_embeddings"),  # 江 is a river and a surname
    ("好", "05_pooling_classifiers"),  # in the reviews
    ("房间不干净", "05_pooling_classifiers"),  # a phrase, typed without spaces
    ("人民日报", "00_tour"),
    ("嵌入", "glossary"),  # Chinese technical terms: the glossary
    ("注意力", "glossary"),
    ("词向量", "glossary"),
    ("梯度", "glossary"),
    ("embedding", "02_word_embeddings"),
])
def test_search_finds_the_right_page(site, browser, query, page):
    found = search(browser, site[0], query)
    assert any(page in link for link in found), f"search for {query} found {found[:8]}"


def test_search_for_a_word_not_in_the_book_finds_nothing(site, browser):
    # Neither character of 鳄鱼 ("crocodile") occurs in the book; Pagefind matches single characters, so
    # a word made of characters the book does use would find those pages.
    assert not any({"鳄", "鱼"} & set((SITE / path).read_text(encoding="utf-8")) for path in PAGES)
    assert search(browser, site[0], "鳄鱼") == []


def test_the_checks_catch_a_page_that_reaches_out_or_fails(browser, tmp_path):
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "index.html").write_text(
        '<html><head><title>start</title><meta name="viewport" content="width=device-width">'
        '</head><body style="width:2000px">'
        '<img src="https://example.com/x.png" onerror="document.title=\'blocked\'">'
        '<script src="missing.js"></script><script>undefinedFunction()</script></body></html>')
    with serve(probe) as (url, requests), tab(browser, "phone") as page:
        page.open(f"{url}/index.html")
        assert page.evaluate("document.title") == "blocked"  # the outside request failed: the network is off
        assert outside(page.requested(), url) == {"https://example.com/x.png"}  # and the check sees the attempt
        assert any("undefinedFunction" in e for e in page.errors())
        assert ("/missing.js", 404) in requests
        box = page.evaluate(WIDER_THAN_SCREEN)
        assert box["page"] > box["screen"] == 390
