"""User store fixtures: a store on each backend with a controllable clock.

The store's argon2 parameters are the library's minimum here (the hashes are real
argon2id, just cheap), so that a test of many logins does not spend seconds hashing;
the CLI tests and `test_an_old_hash_is_replaced_at_login` use the defaults.
"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from tests.persistence.conftest import FakeClock
from tradd.users import UserStore

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(sessions: sessionmaker[Session], clock: FakeClock) -> UserStore:
    return UserStore(sessions, clock, hasher=CHEAP)
