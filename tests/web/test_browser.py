"""The site in a real browser (Debian's chromium via Playwright): the reader's path from a
Chinese search to an exported CSV, with a screenshot of every page under test-artifacts/web/."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=os.environ.get("ISLETBASE_CHROMIUM", "/usr/bin/chromium"),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    # registries cannot be reached from here: a followed source link gets a stand-in page
    context.route(
        "https://**/*",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<title>source</title><p>source page</p>"
        ),
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], errors


def shot(page: Page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def api_total(live_server, params: dict) -> int:
    return httpx.get(f"{live_server.url}/api/trials", params=params).json()["total"]


def test_chinese_search_two_facets_trial_source_language_and_csv(page, live_server, artifacts):
    page.goto(live_server.url + "/")
    expect(page.locator("h1")).to_have_text("isletbase")
    shot(page, artifacts, "01-home")

    page.get_by_role("link", name="Trials", exact=True).click()
    page.get_by_label("Search trials").fill("脐带")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"[?&]q="))
    total_q = api_total(live_server, {"q": "脐带"})
    assert total_q > 0
    expect(page.get_by_test_id("total")).to_contain_text(str(total_q))
    shot(page, artifacts, "02-search-chinese")

    page.locator('a[data-facet="condition"]').first.click()
    page.locator('a[data-facet="status"]').first.click()
    params = {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}
    assert {"q", "condition", "status"} <= set(params), params
    total_f = api_total(live_server, params)
    assert 0 < total_f <= total_q
    expect(page.get_by_test_id("total")).to_contain_text(str(total_f))
    shot(page, artifacts, "03-two-facets")

    with page.expect_download() as download:
        page.locator('a[data-export="csv"]').click()
    # with the byte-order mark Excel needs to read Chinese names in a CSV file
    saved = open(download.value.path(), "rb").read()
    assert saved.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(saved.decode("utf-8-sig"))))
    assert len(rows) == total_f
    assert all(r["source_url"].startswith("http") for r in rows)

    page.locator("ol.trials h3 a").first.click()
    trial_id = urlparse(page.url).path.rsplit("/", 1)[-1]
    api = httpx.get(f"{live_server.url}/api/trials/{trial_id}").json()
    expect(page.locator("h1")).to_be_visible()
    shot(page, artifacts, "04-trial")

    record_link = page.get_by_test_id("record-source")
    href = record_link.get_attribute("href")
    assert href == api["sourceUrl"]
    record_link.click()
    expect(page).to_have_url(href)
    page.go_back()

    page.get_by_test_id("lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("navigation").get_by_role("link", name="临床试验")).to_be_visible()
    shot(page, artifacts, "05-trial-zh")
    # the choice is remembered: the next page is Chinese without ?lang=
    page.goto(live_server.url + "/trials")
    expect(page.locator("h1")).to_have_text("临床试验")


@pytest.mark.parametrize(
    "path,name",
    [
        ("/institutions", "06-institutions"),
        ("/institutions/pumch", "07-institution"),
        ("/evidence", "08-evidence"),
        ("/regulation", "09-regulation"),
        ("/simulator", "10-simulator"),
    ],
)
def test_every_page_renders_with_a_heading(page, live_server, artifacts, path, name):
    response = page.goto(live_server.url + path)
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_have_count(1)
    shot(page, artifacts, name)


def test_charts_keep_a_readable_width_on_a_phone_and_open_whole(browser, live_server):
    """At 390 px the forest plots and the home chart shrank to ~300 px, their study names and
    axis labels too small to read, with no way to open a plot whole."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(live_server.url + "/evidence")
    widths = page.evaluate(
        "[...document.querySelectorAll('img.forest')].map(i => i.getBoundingClientRect().width)"
    )
    assert widths and min(widths) >= 560, widths
    href = page.locator('[data-testid="forest-full"]').first.get_attribute("href")
    assert page.request.get(live_server.url + href).headers["content-type"].startswith("image/svg")
    page.goto(live_server.url + "/")
    chart = page.evaluate("document.querySelector('.chart > svg').getBoundingClientRect().width")
    assert chart >= 480, chart
    context.close()


def test_phone_width_has_no_sideways_scroll(browser, live_server, artifacts):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    for path in (
        "/",
        "/trials?q=umbilical",
        "/trials/NCT01219465",
        "/census",
        "/institutions",
        "/regulation",
        "/evidence",
        # a source's long address widened the facts list to 1,125 px (82 institution pages)
        "/institutions/hebmu-first-hospital",
        "/institutions/nmpa?lang=zh",
    ):
        page.goto(live_server.url + path)
        overflow = page.evaluate(
            "Math.max(document.documentElement.scrollWidth, ...[...document.querySelectorAll("
            "'dl.facts')].map(e => e.getBoundingClientRect().right)) - window.innerWidth"
        )
        assert overflow <= 0, (path, overflow)
    # the record table's values were squeezed to ~45 px, a word broken every few letters
    page.goto(live_server.url + "/trials/NCT01219465?lang=zh")
    narrowest = page.evaluate(
        "Math.min(...[...document.querySelectorAll('table.fields td:nth-child(2)')]"
        ".map(td => td.getBoundingClientRect().width))"
    )
    assert narrowest > 300, narrowest
    shot(page, artifacts, "11-phone-trial")
    # Chinese breaks between any two characters: the directory's type and the rules' severity
    # stood one character a line (a 40 px column), on a desktop too
    for path, cell in (
        ("/institutions?lang=zh", "table.directory td:last-child"),
        ("/regulation?lang=zh", "table.rules td:nth-child(2)"),
    ):
        page.goto(live_server.url + path)
        lines = page.evaluate(  # the line boxes of each cell's text
            f"Math.max(...[...document.querySelectorAll('{cell}')].map(td => {{"
            "const r = document.createRange(); r.selectNodeContents(td);"
            "return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; }))"
        )
        assert lines == 1, (path, lines)
    page.goto(live_server.url + "/trials?q=umbilical")
    shot(page, artifacts, "12-phone-search")
    context.close()


def test_keyboard_reaches_skip_link_then_search(page, live_server):
    page.goto(live_server.url + "/trials")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    else:
        pytest.fail("the search box cannot be reached with Tab")
    page.keyboard.type("xiehe")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=xiehe"))


def test_hostile_registry_text_is_shown_not_run(page, live_server, artifacts, hostile):
    page.goto(f"{live_server.url}/trials/{hostile['id']}")
    expect(page.locator("h1")).to_contain_text("<script>window.__pwned=1</script>")
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("h1 script, img[src=x], svg[onload], i:has-text('Evil')").count() == 0
    shot(page, artifacts, "13-hostile-trial")


def test_the_sort_menu_can_be_stepped_through_by_keyboard(page, live_server):
    """Arrow keys on the sort menu sent the form at the first step (WCAG 3.2.2): the reader
    picks a sort, then sends it with the search button."""
    page.goto(live_server.url + "/trials?q=diabetes")
    page.locator("#sort").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    assert "sort=" not in page.url
    page.locator("#search-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=(?!relevance)"))


def test_the_simulator_form_says_it_is_running_and_is_sent_once(page, live_server):
    page.goto(live_server.url + "/simulator?lang=zh")
    # after the page's own handler: count the sends it let through, and hold each one here
    page.evaluate(
        """window.addEventListener("submit", (e) => {
             window.__tries = (window.__tries || 0) + 1;
             if (!e.defaultPrevented) window.__sent = (window.__sent || 0) + 1;
             e.preventDefault();
           })"""
    )
    button = page.locator("form[data-busy] button[type=submit]")
    button.click()
    expect(button).to_have_text(re.compile("正在运行"))
    expect(button).to_have_attribute("aria-disabled", "true")
    button.click(force=True)  # a second click while the first answer is on the way
    assert page.evaluate("[window.__tries, window.__sent]") == [2, 1]
    assert page.locator("form[aria-busy=true]").count() == 1


def test_the_api_docs_render_from_this_server_alone(page, live_server):
    """Swagger UI came from a CDN: without it (often out of reach in mainland China) the page
    stayed blank, "SwaggerUIBundle is not defined"."""
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: elsewhere.append(r.url) if not r.url.startswith(live_server.url) else None,
    )
    page.goto(live_server.url + "/api/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=15_000)
    assert page.locator(".opblock-summary-path", has_text="/api/trials").count() > 0
    assert elsewhere == []


def test_an_offer_checked_in_chinese_is_read_in_english_by_switching_language(page, live_server):
    """The switch was a link: the English page came back with the form empty and no result."""
    offer = "本院干细胞治疗糖尿病，保证根治，费用8万元。"
    page.goto(live_server.url + "/regulation?lang=zh")
    page.locator("#offer-text").fill(offer)
    page.locator("#offer-text").evaluate("t => t.form.requestSubmit()")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    page.get_by_test_id("lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#offer-text")).to_have_value(offer)
    expect(page.locator('[data-testid="worst"]')).to_have_count(1)
