"""A floor of logged-in agents for the benches that drive a `Service` in-process: each a
user row and an agent registered and logged in, as `onduty users add` and a login make."""

from __future__ import annotations

from onduty.domain import commands as c
from onduty.service.service import Service
from onduty.storage.store import SqlStore
from onduty.storage.users import UserStore


async def logged_in_agents(service: Service, store: SqlStore, count: int, team: str = "t") -> list[int]:
    """`count` agents of `team`, logged in (not yet ready); their ids."""
    users = UserStore(store)
    ids = []
    for i in range(count):
        user = await users.create(username=f"a{i}", name=f"A{i}", role="agent", team=team, password_hash=None, now=0)
        await service.execute(c.RegisterAgent(user.id, team, None, name=user.name, username=user.username))
        await service.execute(c.Login(user.id))
        ids.append(user.id)
    return ids
