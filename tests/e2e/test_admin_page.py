"""Administration (/admin) in a real browser: reasons (S1), settings, users and teams."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Site, screenshot, sign_in


def reasons_by_code(site: Site) -> dict[str, dict[str, Any]]:
    return {r["code"]: r for r in site.api(site.admin, "GET", "/reasons")}


def test_admin_edits_reasons_settings_and_users_and_agents_see_the_catalogue_S1(browser: Browser, site: Site) -> None:
    ann = site.person("agent", "Ann Agent")
    site.person("supervisor", "Sam Super")
    for code, limit in (("lunch", 45), ("training", 90)):  # S10, for the picture
        site.api(site.admin, "PATCH", f"/reasons/{code}", {"max_minutes": limit})
    page = sign_in(browser, site, site.admin)
    expect(page).to_have_url(f"{site.base}/admin")
    reasons = page.locator("#reasons")
    expect(reasons.locator('tr[data-code="lunch"]').get_by_label("Label of lunch")).to_have_value("Lunch break")

    # S1: add a custom reason; a bad code is refused next to the code field.
    add = page.locator("#reason-add")
    add.get_by_label("Code").fill("Coaching!")
    add.get_by_label("Label").fill("Coaching")
    add.get_by_role("button", name="Add reason").click()
    code_error = add.locator('[data-error-for="code"]')
    expect(code_error).to_contain_text("Code must start with a lowercase letter")
    expect(add.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    add.get_by_label("Code").fill("coaching")
    add.get_by_role("button", name="Add reason").click()
    coaching = reasons.locator('tr[data-code="coaching"]')
    expect(coaching.get_by_label("Label of coaching")).to_have_value("Coaching")
    expect(coaching).to_contain_text("Custom")
    expect(code_error).to_be_hidden()

    # Mark one as requiring approval, relabel another, retire a third (after a second click).
    meeting = reasons.locator('tr[data-code="meeting"]')
    meeting.get_by_label("meeting needs approval").check()
    meeting.get_by_role("button", name="Save meeting").click()
    expect(page.locator("#toast")).to_contain_text("Saved “Meeting”")
    short = reasons.locator('tr[data-code="short_break"]')
    short.get_by_label("Label of short_break").fill("Coffee break")
    short.get_by_label("Label of short_break").press("Enter")
    expect(page.locator("#toast")).to_contain_text("Saved “Coffee break”")
    technical = reasons.locator('tr[data-code="technical_break"]')
    technical.get_by_role("button", name="Retire technical_break").click()
    technical.get_by_role("button", name="Retire", exact=True).click()
    expect(technical).to_contain_text("Retired")
    expect(technical.get_by_label("Label of technical_break")).to_be_disabled()
    catalogue = reasons_by_code(site)
    assert catalogue["coaching"]["label"] == "Coaching" and not catalogue["coaching"]["retired"]
    assert catalogue["meeting"]["requires_approval"] is True
    assert catalogue["short_break"]["label"] == "Coffee break"
    assert catalogue["technical_break"]["retired"] is True

    # Settings: a refusal shows next to its field, and nothing changes.
    settings = page.locator("#settings")
    timeout = settings.get_by_label("Response timeout", exact=True)
    timeout.fill("0")
    settings.get_by_role("button", name="Save settings").click()
    timeout_error = page.locator("#setting-response_timeout-error")
    expect(timeout_error).to_have_text("Response timeout must be between 1 s and 30 days")
    expect(timeout).to_have_attribute("aria-invalid", "true")
    assert site.api(site.admin, "GET", "/settings")["response_timeout"] == 60
    timeout.fill("45")
    settings.get_by_label("Response timeout: unit").select_option("second")
    settings.get_by_label("Routing strategy").select_option("round_robin")
    settings.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-saved")).to_have_text("Saved.")
    expect(timeout_error).to_be_hidden()
    stored = site.api(site.admin, "GET", "/settings")
    assert (stored["response_timeout"], stored["strategy"]) == (45, "round_robin")

    # Users: a short password is refused next to its field; then the user is made and the token shown once.
    create = page.locator("#user-add")
    create.get_by_label("Username").fill("bob")
    create.get_by_label("Full name").fill("Bob Builder")
    create.get_by_label("Role").select_option("agent")
    create.get_by_label("Password").fill("short")
    create.get_by_label("Team").fill("billing")
    create.get_by_label("Capacity").fill("2")
    create.get_by_role("button", name="Create user").click()
    expect(create.locator('[data-error-for="password"]')).to_have_text("Password must be at least 8 characters long")
    create.get_by_label("Password").fill("bob-password")
    create.get_by_role("button", name="Create user").click()
    token_box = page.locator("#new-token")
    expect(token_box).to_contain_text("Created bob (Agent)")
    token = page.locator("#new-token-value").inner_text()
    me = page.request.get(f"{site.base}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 200 and me.json()["team"] == "billing"
    bob = page.locator("#users tr", has_text="Bob Builder")
    expect(bob.get_by_label("Capacity of Bob Builder")).to_have_value("2")
    expect(page.locator("#teams")).to_contain_text("billing")

    # An agent's team and capacity.
    row = page.locator("#users tr", has_text="Ann Agent")
    row.get_by_label("Capacity of Ann Agent").fill("5")
    row.get_by_label("Team of Ann Agent").fill("billing")
    row.get_by_role("button", name="Save Ann Agent").click()
    expect(page.locator("#toast")).to_contain_text("team billing, capacity 5")
    expect(page.locator("#teams")).to_contain_text("billing · 2 agents")
    agent = site.api(site.admin, "GET", f"/agents/{ann.id}")
    assert (agent["team"], agent["capacity"]) == ("billing", 5)
    page.evaluate("window.scrollTo(0, 0); document.querySelector('#toast').hidden = true")  # a clean picture
    screenshot(page, "admin")

    # Readable on a phone: tables stack, and the page does not run off the side.
    page.set_viewport_size({"width": 390, "height": 844})
    assert reasons.locator("thead").evaluate("e => e.getBoundingClientRect().height") <= 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1280, "height": 860})

    # S1: an agent's status picker shows the catalogue as the admin left it.
    agent_page = sign_in(browser, site, ann)
    choice = agent_page.get_by_label("Change my status")
    expect(choice.locator("option", has_text="Coaching")).to_have_count(1)
    expect(choice.locator("option", has_text="Coffee break")).to_have_count(1)
    needs_approval = choice.locator('optgroup[label="Inactive — needs approval"]')
    expect(needs_approval.locator("option", has_text="Meeting")).to_have_count(1)
    expect(choice.locator("option", has_text="Technical break")).to_have_count(0)

    # A change made while the agent's page is open shows there at once.
    page.locator("#reason-add").get_by_label("Code").fill("mentoring")
    page.locator("#reason-add").get_by_label("Label").fill("Mentoring")
    page.locator("#reason-add").get_by_role("button", name="Add reason").click()
    expect(choice.locator("option", has_text="Mentoring")).to_have_count(1)


def test_s8_admin_sets_the_connection_rules_and_a_refusal_names_its_field(browser: Browser, site: Site) -> None:
    site.api(site.admin, "POST", "/reasons", {"code": "offsite", "label": "Off site", "requires_approval": False})
    page = sign_in(browser, site, site.admin)
    settings = page.locator("#settings")
    target = settings.get_by_label("When an agent's connection is lost")
    expect(target).to_have_value("inactive:away")
    expect(target.locator("option")).to_contain_text(["Offline (logged out)", "Inactive: Off site"])

    # The idle time is too short for pages that report input once a minute: refused, nothing saved.
    idle = settings.get_by_label("Idle after", exact=True)
    idle.fill("1")
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.locator('[data-error-for="idle_timeout"]')).to_contain_text("between 2 min and 30 days")
    assert site.api(site.admin, "GET", "/settings")["idle_timeout"] == 0

    idle.fill("10")  # minutes
    settings.get_by_label("Connection grace", exact=True).fill("1.5")  # minutes
    target.select_option(label="Offline (logged out)")
    settings.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-saved")).to_have_text("Saved.")
    saved = site.api(site.admin, "GET", "/settings")
    assert (saved["idle_timeout"], saved["disconnect_grace"]) == (600, 90)
    assert saved["on_disconnect"] == {"state": "offline"}

    target.select_option(label="Inactive: Off site")
    settings.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-saved")).to_have_text("Saved.")
    assert site.api(site.admin, "GET", "/settings")["on_disconnect"] == {"state": "inactive", "reason": "offsite"}


def test_invalid_forms_say_every_field_at_once_in_words_and_times_read_as_people_say_them(
    browser: Browser, site: Site
) -> None:
    site.person("agent", "Ann Agent", team="billing")
    site.person("agent", "Abe Agent", team="billing")
    site.person("supervisor", "Sue Super", team="support")
    site.person("agent", "Amy Agent", team="support")
    page = sign_in(browser, site, site.admin)
    settings = page.locator("#settings")

    # Lengths of time as people say them: the longest unit that says each in whole numbers.
    def shows(label: str, number: str, unit: str) -> None:
        expect(settings.get_by_label(label, exact=True)).to_have_value(number)
        expect(settings.get_by_label(f"{label}: unit").locator("option:checked")).to_have_text(unit)

    shows("Response timeout", "1", "minute")  # 60 s
    shows("Prompt timeout", "30", "seconds")
    shows("Own-client period", "1", "day")
    shows("Welcome back within", "8", "hours")
    expect(page.locator("#setting-idle_timeout-human")).to_have_text("Off")
    # A change elsewhere shows live, in days.
    site.api(site.admin, "PATCH", "/settings", {"return_window": 30 * 86400})
    shows("Welcome back within", "30", "days")
    settings.get_by_label("Own-client period", exact=True).fill("90")
    settings.get_by_label("Own-client period: unit").select_option("minute")
    expect(page.locator("#setting-client_affinity_timeout-human")).to_have_text("= 1 h 30 min")

    # Plurals: one supervisor, two agents, no supervisor.
    expect(page.locator("#teams li", has_text="billing")).to_have_text("billing · 2 agents, 0 supervisors")
    expect(page.locator("#teams li", has_text="support")).to_have_text("support · 1 agent, 1 supervisor")

    # A whole form checked before sending: every invalid field says why, at once, in words.
    before = site.api(site.admin, "GET", "/settings")
    settings.get_by_label("Response timeout", exact=True).fill("0")
    settings.get_by_label("Default capacity").fill("1.5")
    settings.get_by_label("Time zone").fill("")
    settings.get_by_label("Idle after", exact=True).fill("1")
    settings.get_by_label("Service level target", exact=True).fill("2")
    settings.get_by_label("Service level target: unit").select_option("hour")
    settings.get_by_role("button", name="Save settings").click()
    said = {
        "response_timeout": "Response timeout must be between 1 s and 30 days",
        "default_capacity": "Default capacity must be a whole number between 1 and 1,000",
        "time_zone": "Time zone is required",
        "idle_timeout": "Idle after must be 0 (off), or between 2 min and 30 days: pages report input once a minute",
        "service_level_target": "Service level target must be between 1 s and 1 h",  # W5
    }
    for name, message in said.items():
        expect(page.locator(f"#setting-{name}-error")).to_have_text(message)
        field = page.locator(f"#setting-{name}")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_attribute("aria-describedby", re.compile(f"setting-{name}-error"))
    expect(settings.get_by_label("Response timeout", exact=True)).to_be_focused()
    assert site.api(site.admin, "GET", "/settings") == before

    # What only the service can tell (the time zone is unknown) shows the same way, in words.
    settings.get_by_label("Response timeout", exact=True).fill("2")
    settings.get_by_label("Default capacity").fill("4")
    settings.get_by_label("Time zone").fill("Mars/Olympus")
    settings.get_by_label("Idle after", exact=True).fill("0")
    settings.get_by_label("Service level target", exact=True).fill("0.5")  # hours
    settings.get_by_role("button", name="Save settings").click()
    expect(page.locator("#setting-time_zone-error")).to_have_text(
        "Time zone 'Mars/Olympus' is not a known IANA time zone"
    )
    expect(page.locator("#setting-response_timeout-error")).to_be_hidden()
    expect(settings.get_by_label("Time zone")).to_be_focused()
    settings.get_by_label("Time zone").fill("Europe/Berlin")
    settings.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-saved")).to_have_text("Saved.")
    stored = site.api(site.admin, "GET", "/settings")
    timings = ("response_timeout", "client_affinity_timeout", "default_capacity", "service_level_target")
    assert tuple(stored[name] for name in timings) == (120, 5400, 4, 1800)
    shows("Response timeout", "2", "minutes")
    shows("Own-client period", "90", "minutes")
    shows("Service level target", "30", "minutes")

    # The reason form: every field at once, S10's time limit among them.
    add = page.locator("#reason-add")
    add.get_by_label("Time limit", exact=True).fill("8")
    add.get_by_label("Time limit: unit").select_option("day")
    add.get_by_role("button", name="Add reason").click()
    expect(add.locator('[data-error-for="code"]')).to_have_text("Code is required")
    expect(add.locator('[data-error-for="label"]')).to_have_text("Label is required")
    expect(add.locator('[data-error-for="max_minutes"]')).to_have_text(
        "Time limit must be between 1 min and 7 days, or empty for no limit"
    )
    expect(add.get_by_label("Code")).to_be_focused()
    add.get_by_label("Code").fill("lunch")
    add.get_by_label("Label").fill("L" * 81)
    add.get_by_label("Time limit", exact=True).fill("2.5")
    add.get_by_label("Time limit: unit").select_option("minute")
    add.get_by_role("button", name="Add reason").click()
    expect(add.locator('[data-error-for="code"]')).to_have_text("Code “lunch” is taken by the reason “Lunch break”")
    expect(add.locator('[data-error-for="label"]')).to_have_text("Label must be at most 80 characters long (it has 81)")
    expect(add.locator('[data-error-for="max_minutes"]')).to_have_text("Time limit must be a whole number of minutes")
    add.get_by_label("Code").fill("gym")
    add.get_by_label("Label").fill("Gym")
    add.get_by_label("Time limit", exact=True).fill("1.5")
    add.get_by_label("Time limit: unit").select_option("hour")
    add.get_by_role("button", name="Add reason").click()
    gym = page.locator('#reasons tr[data-code="gym"]')
    expect(gym.get_by_label("Time limit of gym", exact=True)).to_have_value("90")
    expect(gym.get_by_label("Time limit of gym: unit").locator("option:checked")).to_have_text("minutes")
    expect(gym).to_contain_text("= 1 h 30 min")
    assert reasons_by_code(site)["gym"]["max_minutes"] == 90

    # A time limit in the list: set, refused in words, cleared.
    lunch = page.locator('#reasons tr[data-code="lunch"]')
    limit = lunch.get_by_label("Time limit of lunch", exact=True)
    expect(limit).to_have_attribute("placeholder", "No limit")
    limit.fill("1")
    lunch.get_by_label("Time limit of lunch: unit").select_option("hour")
    lunch.get_by_role("button", name="Save lunch").click()
    expect(page.locator("#toast")).to_contain_text("Saved “Lunch break”")
    assert reasons_by_code(site)["lunch"]["max_minutes"] == 60
    lunch.get_by_label("Label of lunch").fill("")
    limit.fill("0")
    lunch.get_by_role("button", name="Save lunch").click()
    expect(lunch.locator('[data-error-for="label"]')).to_have_text("Label is required")
    expect(lunch.locator('[data-error-for="max_minutes"]')).to_have_text(
        "Time limit must be between 1 min and 7 days, or empty for no limit"
    )
    expect(limit).to_have_attribute("aria-invalid", "true")
    lunch.get_by_label("Label of lunch").fill("Lunch break")
    limit.fill("")
    page.evaluate("document.querySelector('#toast').textContent = ''")  # the next "Saved" is this save's
    lunch.get_by_role("button", name="Save lunch").click()
    expect(lunch.locator('[data-error-for="max_minutes"]')).to_be_hidden()
    expect(page.locator("#toast")).to_contain_text("Saved “Lunch break”")
    assert reasons_by_code(site)["lunch"]["max_minutes"] is None
    expect(page.locator("body")).not_to_contain_text("Expected")
