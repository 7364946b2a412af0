"""The web pages: server-rendered shells, filled by plain ES modules from the API.

No build step and nothing from a CDN: every script, style and icon ships in
the package, so the pages work offline and behind a firewall. Pages carry no
data themselves; the modules read the API with the signed-in user's token,
so a page shows exactly what the API lets that user see.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

PAGES = {
    "login": "Sign in",
    "supervisor": "Team status",
    "agent": "My workspace",
    "admin": "Administration",
    "reports": "Reports",
    "wallboard": "Wallboard",
}


def _page(name: str) -> Template:
    return Template(template_name=f"{name}.html", context={"page": name, "title": PAGES[name]})


@get("/", include_in_schema=False)
async def home() -> Redirect:
    # The sign-in page sends each role on to its own page.
    return Redirect("/login")


@get("/login", include_in_schema=False)
async def login() -> Template:
    return _page("login")


@get("/supervisor", include_in_schema=False)
async def supervisor() -> Template:
    return _page("supervisor")


@get("/agent", include_in_schema=False)
async def agent() -> Template:
    return _page("agent")


@get("/admin", include_in_schema=False)
async def admin() -> Template:
    return _page("admin")


@get("/reports", include_in_schema=False)
async def reports() -> Template:
    return _page("reports")


@get("/wallboard", include_in_schema=False)
async def wallboard() -> Template:
    # W5 on a screen on the wall: supervisors see their team, admins the floor or `?team=`
    # (the API scopes what the page reads, as on every page).
    return _page("wallboard")


pages = Router("/", route_handlers=[home, login, supervisor, agent, admin, reports, wallboard], include_in_schema=False)
static = create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False)
