"""The database schema (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Times are stored as UTC POSIX seconds (double precision): the engine's own
unit, exact to the microsecond, and free of time-zone ambiguity on either
database. The API renders them as ISO 8601.

Lasting engine state lives in `agents`, `threads`, `approval_requests`,
`clients`, `reasons`, `settings`; everything derived (who holds what, the
queue, timers) is rebuilt from them at start (domain/restore.py).
`status_log` is the append-only record of S7 and `events` the journal the
live stream replays from.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger ids autoincrement on PostgreSQL; SQLite needs INTEGER for its rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")

teams = Table(
    "teams",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("created_at", Float, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(80), nullable=False, unique=True),  # normalised: onduty/usernames.py
    # UTS #39 skeleton of the username: unique, so no two users' usernames look alike.
    Column("username_skeleton", Text, nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("role", String(20), nullable=False),  # agent | supervisor | admin | integration
    Column("team", String(80), ForeignKey("teams.name"), nullable=True),
    Column("password_hash", Text, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Float, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of a random 256-bit token
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
)

agents = Table(
    "agents",
    metadata,
    Column("id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("team", String(80), nullable=False, index=True),
    Column("capacity", Integer, nullable=True),
    Column("name", String(120), nullable=False),
    Column("state", String(30), nullable=False),
    Column("reason", String(40), nullable=True),
    Column("since", Float, nullable=False),
    Column("set_by_kind", String(20), nullable=False),
    Column("set_by_id", Integer, nullable=True),
    Column("set_by_why", String(40), nullable=True),
    Column("before_logout_state", String(30), nullable=True),
    Column("before_logout_reason", String(40), nullable=True),
    Column("ever_logged_in", Boolean, nullable=False),
    Column("last_assigned_at", Float, nullable=True),
    Column("idle_since", Float, nullable=True),
    Column("working_since", Float, nullable=True),
    Column("prompt_deadline", Float, nullable=True),
    # S8 (domain/_connections.py)
    Column("connected", Boolean, nullable=False, server_default=false()),
    Column("stream_seen", Boolean, nullable=False, server_default=false()),
    Column("disconnected_at", Float, nullable=True),
    Column("away_from_state", String(30), nullable=True),
    Column("away_from_reason", String(40), nullable=True),
    Column("away_at", Float, nullable=True),
    Column("last_input", Float, nullable=True),  # the pages' last input: a follower's idle deadlines
    Column("connected_on", JSON, nullable=True),  # S8: the instances its streams are open on
)

reasons = Table(
    "reasons",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("label", String(80), nullable=False),
    Column("requires_approval", Boolean, nullable=False),
    Column("retired", Boolean, nullable=False),
    Column("built_in", Boolean, nullable=False),
    Column("max_minutes", Integer, nullable=True),  # S10: None: no limit
)

settings = Table(
    "settings",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", JSON, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", JSON, nullable=False),
)

threads = Table(
    "threads",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=False),
    Column("client_id", String(200), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("state", String(20), nullable=False),
    Column("agent_id", Integer, nullable=True, index=True),
    Column("assigned_at", Float, nullable=True),
    Column("reserved_for", Integer, nullable=True),
    Column("reserve_deadline", Float, nullable=True),
    Column("reclaim_pending", Boolean, nullable=False),
    Column("answered_once", Boolean, nullable=False),
    Column("closed_at", Float, nullable=True),
    # The thread's pinned message ids, as the engine holds them (storage/_id_lists.py): so the
    # start reads one row an open thread, not one a message.
    Column("pinned_ids", Text, nullable=False, server_default=""),
    Index("ix_threads_open", "state", "id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=False),
    Column("thread_id", BigId, nullable=False, index=True),
    Column("author", String(10), nullable=False),  # client | agent
    Column("agent_id", Integer, nullable=True),
    Column("text", Text, nullable=False),
    Column("at", Float, nullable=False),
    Column("pinned", Boolean, nullable=False),
)

# C1: internal chat. A conversation is named by its id (domain/chat.py), not created; its
# messages are numbered by the engine.
chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=False),
    Column("conversation_id", String(160), nullable=False),
    Column("sender_id", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("thread_id", BigId, nullable=True),  # a consultation: the thread it points to
    Column("at", Float, nullable=False),
    Index("ix_chat_messages_conversation_id_id", "conversation_id", "id"),
)

# Who is in which conversation, and how far they have read: both people of a direct
# conversation from its first message; a room's people from when they first write or read.
chat_members = Table(
    "chat_members",
    metadata,
    Column("conversation_id", String(160), primary_key=True),
    Column("user_id", Integer, primary_key=True, index=True),
    Column("up_to", BigId, nullable=False),  # the last message read (0: none)
)

approval_requests = Table(
    "approval_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("agent_id", Integer, nullable=False, index=True),
    Column("state", String(20), nullable=False),  # pending | approved | rejected | cancelled
    Column("requested_state", String(30), nullable=False),
    Column("requested_reason", String(40), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("decided_by_kind", String(20), nullable=True),
    Column("decided_by_id", Integer, nullable=True),
    Column("decided_at", Float, nullable=True),
    Column("why", String(40), nullable=True),
)

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(200), primary_key=True),
    Column("owner_agent_id", Integer, nullable=False),
    Column("owned_since", Float, nullable=False),
    # The start reads the owners by `owned_since` (R4's window): the index holds the whole row,
    # so the read never goes to the table.
    Index("ix_clients_owned", "owned_since", "client_id", "owner_agent_id"),
)

status_log = Table(
    "status_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("agent_id", Integer, nullable=False),
    Column("team", String(80), nullable=False),
    Column("at", Float, nullable=False, index=True),
    Column("from_state", String(30), nullable=False),
    Column("from_reason", String(40), nullable=True),
    Column("to_state", String(30), nullable=False),
    Column("to_reason", String(40), nullable=True),
    Column("actor_kind", String(20), nullable=False),
    Column("actor_id", Integer, nullable=True),
    Column("actor_why", String(40), nullable=True),
    Index("ix_status_log_agent_at", "agent_id", "at"),
)

# One row whenever a command changed an agent's status or the threads they hold:
# the agent's condition after that command (state, reason, threads held), what
# happened (a status change, or a thread received, answered, closed, transferred
# in or out, requeued), and the condition it ended (prev_*, held since prev_at).
# Each row thus describes a whole span of time, so the workload report (P2) sums
# spans in one scan of the period, without sorting the timeline.
agent_activity = Table(
    "agent_activity",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("agent_id", Integer, nullable=False),
    Column("team", String(80), nullable=False),
    Column("at", Float, nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("state", String(30), nullable=False),
    Column("reason", String(40), nullable=True),
    Column("held", Integer, nullable=False),
    Column("thread_id", BigId, nullable=True),
    Column("seconds", Float, nullable=True),  # answered: since the thread was given to this agent
    Column("prev_at", Float, nullable=True),  # None for an agent's first row
    Column("prev_state", String(30), nullable=True),
    Column("prev_reason", String(40), nullable=True),
    Column("prev_held", Integer, nullable=True),
    Index("ix_agent_activity_agent_at", "agent_id", "at"),
)

# agent_activity summed per UTC day of the rows' `at` (day = floor(at / 86400)), per agent
# and per what the rows count by: the condition they end (prev_state, prev_reason; '' for
# none) and their kind. Written with the rows, in the same transaction, so a report over
# many days reads these sums for its whole days and the rows only for the part days at
# its edges (docs/performance.md, reports).
agent_activity_days = Table(
    "agent_activity_days",
    metadata,
    Column("day", Integer, primary_key=True),  # first: a report reads a range of days
    Column("agent_id", Integer, primary_key=True),
    Column("prev_state", String(30), primary_key=True),
    Column("prev_reason", String(40), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("n", Integer, nullable=False),  # rows
    Column("answer_seconds", Float, nullable=False),  # Σ seconds
    Column("span", Float, nullable=False),  # Σ at - prev_at: the spans the rows end, whole
    Column("holding", Float, nullable=False),  # of which, with a thread in hand (prev_held > 0)
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("name", String(40), nullable=False),
    Column("data", JSON, nullable=False),
    # Who may see it: {"teams": [...], "agents": [...], "public": bool, "threads": bool}.
    Column("scope", JSON, nullable=False),
)

# Several instances (ENGINEERING.md, "Scale-out"): who owns the workspace, fenced by `epoch`.
workspace_lease = Table(
    "workspace_lease",
    metadata,
    Column("workspace", String(40), primary_key=True),
    Column("owner", String(80), nullable=False),  # the instance's id
    Column("epoch", BigInteger, nullable=False),  # grows at every takeover: the fencing token
    Column("expires_at", Float, nullable=False),  # by the database's clock (seconds)
)

# Each committed batch as the owner applied it, in its own transaction: what followers apply.
command_log = Table(
    "command_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),  # the batch's `now` (pruned by it)
    Column("tick", Boolean, nullable=False),  # timers ticked at `at` before the commands
    Column("commands", JSON, nullable=False),  # in the order applied
    Column("last_event_id", BigInteger, nullable=True),  # the journal's last id after the batch
    Column("epoch", BigInteger, nullable=True),  # the owner's, under several instances
)

# The instances sharing the database: alive while `expires_at` (the database's clock) is
# ahead; `address` is where the others reach it (commands forwarded to the owner).
instances = Table(
    "instances",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("address", String(300), nullable=False),
    Column("expires_at", Float, nullable=False),
)

# The event stream's single-use tickets, by hash, where every instance finds them.
stream_tickets = Table(
    "stream_tickets",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("user_id", BigId, nullable=False, index=True),
    Column("token_hash", String(64), nullable=False),  # the session it belongs to (sign-out ends it)
    Column("expires_at", Float, nullable=False, index=True),
    Column("used_at", Float, nullable=True),  # kept until it expires, to tell "used already"
)

# Sessions ended (a token revoked) and users whose cached tokens must be re-read (their team
# changed), in the order they happened: every instance follows it to drop what its token
# cache holds and close the streams of ended sessions (storage/ended_sessions.py). Rows go
# once older than any token cache remembers. AUTOINCREMENT on SQLite: an id is never reused,
# so "every row after the last one seen" never misses one.
ended_sessions = Table(
    "ended_sessions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=True),  # the session ended; null: the whole user's
    Column("user_id", BigId, nullable=True),  # whose cached tokens to drop; null: the session's only
    Column("at", Float, nullable=False, index=True),  # by the database's clock
    sqlite_autoincrement=True,
)
