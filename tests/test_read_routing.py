"""The read replica's breaker (api/read_routing.Replica): which reads may try the replica."""

from __future__ import annotations

import asyncpg
from tortoise.exceptions import OperationalError

from api.read_routing import Replica


def wrapped(cause: BaseException) -> OperationalError:
    try:
        raise OperationalError("the driver's error") from cause
    except OperationalError as error:
        return error


def test_a_replica_that_cannot_answer_is_tried_by_one_read_a_pause():
    replica = Replica(object(), pause=30)
    assert all(replica.usable(t) for t in (0, 1, 2))  # closed: every read
    replica.answered(wrapped(ConnectionRefusedError()), now=2)
    assert not any(replica.usable(t) for t in (3, 20, 31.9))  # open for 30 s
    assert replica.usable(32)  # then one read tries it
    assert not replica.usable(32) and not replica.usable(40)  # the others wait for its answer
    replica.answered(asyncpg.ConnectionDoesNotExistError("closed"), now=45)  # it failed: 30 s more
    assert not replica.usable(74) and replica.usable(75)
    replica.answered(None, now=75)  # it answered: closed again
    assert replica.usable(76) and replica.usable(76)


def test_a_trial_read_that_never_answers_leaves_the_next_pause_its_own_trial():
    replica = Replica(object(), pause=10)
    replica.answered(TimeoutError(), now=0)
    assert replica.usable(10)  # taken by a request that never reads (a mutation, say)
    assert not replica.usable(15)
    assert replica.usable(20) and not replica.usable(21)


def test_a_statement_refused_for_another_reason_leaves_the_replica_in_use():
    replica = Replica(object(), pause=30)
    for error in (ValueError("bad value"), wrapped(KeyError("x")), asyncpg.DataError("bad bind")):
        replica.answered(error, now=1)
        assert replica.usable(2), error
