"""Signing in (POST /auth/token) against guessing: failed attempts are limited per username and
per client address (429 with Retry-After), refusals cost the same whether the username exists
or not, and password hashing never stops the event loop."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable

import httpx
from sqlalchemy import update

from onduty.storage import schema as t
from tests.integration.api_client import Api, Person

RIGHT = "correct horse"
WRONG = "battery staple"
WINDOW = 900  # the defaults: 5 failures per username, 20 per address, in 15 minutes


async def sign_in(api: Api, username: str, password: str) -> httpx.Response:
    return await api.call(None, "POST", "/auth/token", {"username": username, "password": password})


async def fails(api: Api, username: str, password: str = WRONG) -> None:
    response = await sign_in(api, username, password)
    assert response.status_code == 401, response.text


def retry_after(api: Api, response: httpx.Response) -> int:
    """The 429's wait in seconds, its error checked to have the contract's shape."""
    assert response.status_code == 429, response.text
    error = api.error(response)
    assert (error["code"], error["field"]) == ("too_many_attempts", "username")
    return int(response.headers["retry-after"])


async def signer(api: Api) -> Person:
    return await api.person("agent", password=RIGHT)


async def test_a_username_gets_five_failures_then_429_even_with_the_right_password(api: Api) -> None:
    """Over the limit the password is not checked at all: the right one is refused too, until
    the window has passed."""
    ann = await signer(api)
    for _ in range(5):
        await fails(api, ann.username)
    assert retry_after(api, await sign_in(api, ann.username, WRONG)) == WINDOW
    assert retry_after(api, await sign_in(api, ann.username, RIGHT)) == WINDOW
    await api.advance(WINDOW - 1)
    assert retry_after(api, await sign_in(api, ann.username, RIGHT)) == 1
    await api.advance(1)
    await api.call(None, "POST", "/auth/token", {"username": ann.username, "password": RIGHT}, expect=200)


async def test_the_window_slides_each_failure_ages_out_on_its_own(api: Api) -> None:
    ann = await signer(api)
    await fails(api, ann.username)
    await api.advance(600)
    for _ in range(4):
        await fails(api, ann.username)
    assert retry_after(api, await sign_in(api, ann.username, WRONG)) == 300
    await api.advance(300)
    await fails(api, ann.username)  # the first failure is a window old: one more try
    assert retry_after(api, await sign_in(api, ann.username, WRONG)) == 600


async def test_a_success_clears_the_usernames_failures(api: Api) -> None:
    ann = await signer(api)
    for _ in range(4):
        await fails(api, ann.username)
    await api.call(None, "POST", "/auth/token", {"username": ann.username, "password": RIGHT}, expect=200)
    for _ in range(5):
        await fails(api, ann.username)
    retry_after(api, await sign_in(api, ann.username, WRONG))


async def test_an_address_gets_twenty_failures_whatever_the_usernames(api: Api) -> None:
    """Spreading guesses over usernames meets the address's limit; it holds for every username
    (the right password too) and is counted in the metrics."""
    ann = await signer(api)
    for i in range(20):
        await fails(api, f"guess{i}")
    assert retry_after(api, await sign_in(api, "guess-more", WRONG)) == WINDOW
    assert retry_after(api, await sign_in(api, ann.username, RIGHT)) == WINDOW
    metrics = (await api.http.get("/metrics")).text
    assert 'onduty_sign_ins_total{outcome="refused"} 20.0' in metrics
    assert 'onduty_sign_ins_total{outcome="limited"} 2.0' in metrics
    await api.advance(WINDOW)
    await api.call(None, "POST", "/auth/token", {"username": ann.username, "password": RIGHT}, expect=200)


async def test_guesses_sent_at_once_get_only_the_limit_through(api: Api) -> None:
    """An attempt counts from the moment it is let through, so a burst sent before any of its
    guesses is checked is held to the limit too (and so is the hashing it asks for)."""
    ann = await signer(api)
    answers = await asyncio.gather(*(sign_in(api, ann.username, WRONG) for _ in range(8)))
    assert sorted(answer.status_code for answer in answers) == [401] * 5 + [429] * 3


async def test_a_refusal_without_a_usable_hash_is_checked_against_the_stand_in(api: Api) -> None:
    """An unknown username, a user without a password and a deactivated user are each checked
    against the stand-in hash, so that their refusal costs a real check; a known user's wrong
    password against their own hash."""
    ann = await signer(api)
    tokens_only = await api.person("integration")
    gone = await signer(api)
    async with api.store.writer.begin() as conn:
        await conn.execute(update(t.users).where(t.users.c.id == gone.id).values(active=False))
    passwords = api.ctx.passwords
    for username, password, stand_in in (
        (ann.username, WRONG, False),
        ("nobody-by-that-name", WRONG, True),
        (tokens_only.username, WRONG, True),
        (gone.username, RIGHT, True),
    ):
        before = (passwords.checked, passwords.checked_stand_in)
        await fails(api, username, password)
        after = (passwords.checked, passwords.checked_stand_in)
        assert after == ((before[0], before[1] + 1) if stand_in else (before[0] + 1, before[1])), username


async def test_an_unknown_username_takes_as_long_to_refuse_as_a_known_one(api: Api) -> None:
    """Timed in the same run, interleaved: the medians of the two kinds of refusal are alike
    (refused without a check, an unknown username answers some fifty times sooner)."""
    ann = await signer(api)

    async def took(username: str) -> float:
        start = time.perf_counter()
        await fails(api, username)
        return time.perf_counter() - start

    known, unknown = [], []
    for i in range(3):
        known.append(await took(ann.username))
        unknown.append(await took(f"nobody{i}"))
    assert statistics.median(unknown) > statistics.median(known) / 3, (known, unknown)


async def longest_stall_while(work: Awaitable[object]) -> tuple[float, float]:
    """(The longest time the event loop went without turning, the time `work` took.) The
    server runs in this test's event loop, so whatever it does on the loop stalls this too."""
    longest, done = 0.0, False

    async def beat() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now

    beating = asyncio.create_task(beat())
    start = time.perf_counter()
    await work
    took = time.perf_counter() - start
    done = True
    await beating
    return longest, took


async def test_checking_a_password_does_not_stop_the_event_loop(api: Api) -> None:
    """The check runs in the pool's threads, so the loop keeps turning meanwhile. On the loop,
    the longest stall was the check itself, most of the sign-in's time; off it, a small part.
    A ratio within one run, so that a slow or busy machine moves both sides alike."""
    ann = await signer(api)
    longest, took = await longest_stall_while(fails(api, ann.username))
    assert longest < took / 2, f"the loop stalled {longest * 1000:.0f} ms of the sign-in's {took * 1000:.0f} ms"


async def test_hashing_a_new_users_password_does_not_stop_the_event_loop(api: Api) -> None:
    """The same for POST /users (and `onduty users add`, which makes users through it)."""
    body = {"username": "newcomer", "role": "agent", "password": RIGHT}
    longest, took = await longest_stall_while(api.call(api.admin, "POST", "/users", body, expect=201))
    assert longest < took / 2, f"the loop stalled {longest * 1000:.0f} ms of the creation's {took * 1000:.0f} ms"
