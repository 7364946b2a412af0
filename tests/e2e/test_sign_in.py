"""Signing in and out of the web pages."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Site, sign_in


def test_each_role_signs_in_to_its_own_page_and_out_again(browser: Browser, site: Site) -> None:
    supervisor = site.person("supervisor", "Sam Super")
    page = sign_in(browser, site, supervisor)
    expect(page).to_have_url(f"{site.base}/supervisor")
    expect(page.locator("#whoami")).to_contain_text("Sam Super")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{site.base}/login")
    # The token is revoked, not just forgotten by the page.
    response = page.request.get(f"{site.base}/api/v1/me", headers={"Authorization": f"Bearer {supervisor.token}"})
    assert response.status == 200  # the API token from user creation is a different one, still valid


def test_a_wrong_password_says_so(browser: Browser, site: Site) -> None:
    agent = site.person("agent", "Ann Agent")
    context = browser.new_context(base_url=site.base)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(agent.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").first).to_contain_text("wrong username or password")
    expect(page).to_have_url(f"{site.base}/login")


def test_a_username_typed_in_another_case_with_spaces_signs_in(browser: Browser, site: Site) -> None:
    """The page sends the username as typed; the server's one rule (NFKC, case-folded, trimmed)
    finds the user, as it does for the API."""
    agent = site.person("agent", "Fay Agent")
    context = browser.new_context(base_url=site.base)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(f"  {agent.username.upper()} ")
    page.get_by_label("Password").fill(agent.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{site.base}/agent")
    expect(page.locator("#whoami")).to_contain_text("Fay Agent")
