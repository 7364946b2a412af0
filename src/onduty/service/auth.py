"""API tokens: random, stored as SHA-256.

Tokens carry 256 random bits, so a fast hash is enough to keep a stolen database
from yielding usable tokens; passwords are low-entropy and get argon2 (passwords.py).
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "odt_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
