"""Where the sign-in page sends people: `?next=` is honoured only for this service's own
pages, judged after the browser's own URL parsing (backslashes, tabs, newlines and dot
segments included), so a crafted link never carries a signed-in person to another host."""

from __future__ import annotations

import time
from urllib.parse import quote, urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Route
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.conftest import Person, Site

# Each, once decoded from the query string, is what a hostile link puts in `next`.
HOSTILE = [
    "/\\127.0.0.1:9/pwned",
    "/\t/127.0.0.1:9/pwned",
    "/\n/127.0.0.1:9/pwned",
    "/\r\n/evil.example/",
    "//127.0.0.1:9/pwned",
    "///127.0.0.1:9/pwned",
    "\\\\evil.example/",
    "/\\evil.example/",
    "\\/evil.example/",
    " //evil.example/",
    "https://evil.example/",
    "http://127.0.0.1:9/pwned",
    "https:evil.example",
    "/..//127.0.0.1:9/pwned",  # same origin as a URL, but its path alone reads as another host
    "/.//127.0.0.1:9/pwned",
    "javascript:alert(document.domain)",
    "data:text/html,<p>pwned</p>",
]
# The prober's links exactly as written (the query string not encoded by us).
RAW_QUERIES = ["next=/%5C127.0.0.1:9/pwned", "next=/%09/127.0.0.1:9/pwned", "next=/\\evil.example/"]
TIMEOUT_S = 10


def _guarded(browser: Browser, site: Site) -> tuple[BrowserContext, list[str]]:
    """A context where every request to another origin is refused and written down."""
    context = browser.new_context(base_url=site.base)
    context.set_default_timeout(TIMEOUT_S * 1000)
    escaped: list[str] = []

    def refuse(route: Route) -> None:
        escaped.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith(f"{site.base}/"), refuse)
    return context, escaped


def _landing(page: Page, escaped: list[str], site: Site, expected: str, what: str) -> str | None:
    """Waits until the page is off the sign-in page (or has tried to leave the site);
    what went wrong, if anything."""
    end = time.monotonic() + TIMEOUT_S
    while time.monotonic() < end and not escaped and urlsplit(page.url).path in ("/login", ""):
        page.wait_for_timeout(50)
    if escaped:
        return f"{what}: the browser was sent off the site to {escaped}"
    if page.url != f"{site.base}{expected}":
        return f"{what}: landed on {page.url}"
    return None


def _lands(page: Page, escaped: list[str], site: Site, expected: str, what: str) -> None:
    problem = _landing(page, escaped, site, expected, what)
    assert problem is None, problem


def _open(page: Page, url: str) -> None:
    """Opens a sign-in link while signed in: the page moves on at once, and a move off the
    site (refused by the guard) interrupts the navigation; `_landing` judges either."""
    try:
        page.goto(url, wait_until="commit")
    except PlaywrightError as error:
        if "interrupted by another navigation" not in error.message:
            raise


def _sign_in_via(page: Page, who: Person, query: str) -> None:
    page.goto(f"/login?{query}")
    page.get_by_label("Username").fill(who.username)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Sign in").click()


def test_a_hostile_next_never_leaves_the_site_whether_signing_in_or_already_signed_in(
    browser: Browser, site: Site
) -> None:
    agent = site.person("agent", "Ann Agent")
    queries = [f"next={quote(value, safe='')}" for value in HOSTILE] + RAW_QUERIES
    problems: list[str | None] = []
    for query in queries:
        context, escaped = _guarded(browser, site)
        page = context.new_page()
        # Signing in through the form with the hostile link...
        _sign_in_via(page, agent, query)
        problems.append(_landing(page, escaped, site, "/agent", f"sign in with {query!r}"))
        # ...and opening it again while signed in: the page sends the person on at once.
        escaped.clear()
        _open(page, f"/login?{query}")
        problems.append(_landing(page, escaped, site, "/agent", f"signed in, opening {query!r}"))
        context.close()
    failures = [p for p in problems if p]
    assert not failures, "\n".join(failures)


def test_next_keeps_a_page_of_this_site_with_its_query_and_fragment(browser: Browser, site: Site) -> None:
    supervisor = site.person("supervisor", "Sam Super")
    context, escaped = _guarded(browser, site)
    page = context.new_page()
    _sign_in_via(page, supervisor, f"next={quote('/reports?period=week#top', safe='')}")
    _lands(page, escaped, site, "/reports?period=week#top", "a page of this site")
    # Being sent back to the sign-in page itself would go round for ever: home instead.
    _open(page, f"/login?next={quote('/login?next=/login', safe='')}")
    _lands(page, escaped, site, "/supervisor", "next is the sign-in page")
    context.close()
