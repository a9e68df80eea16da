"""Send report reads to a PostgreSQL replica when DATABASE_REPLICA_URL configures one.

Only reads that ask for it go there: code inside `replica_reads()` (report builders and
exports) and models of REPLICA_READ_APPS. Everything else, all writes and all migrations
stay on the primary, so a page never reads back a stale copy of what it just wrote. A model
whose rows are read back right after they are written (an export job's progress) sets
`read_from_primary = True` and is never read from the replica.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

from django.conf import settings
from django.db import connections

REPLICA = "replica"
_wanted: ContextVar[bool] = ContextVar("replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.settings


@contextlib.contextmanager
def replica_reads():
    """Reads in this block (this thread or task) go to the replica, if there is one.

    Usable as a decorator too. Writes inside the block still go to the primary.
    """
    token = _wanted.set(True)
    try:
        yield
    finally:
        _wanted.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if not replica_configured() or getattr(model, "read_from_primary", False):
            return None
        instance = hints.get("instance")
        if instance is not None and instance._state.db not in (None, REPLICA):
            return None  # related objects of a primary row are read where the row came from
        wanted = _wanted.get() or model._meta.app_label in settings.REPLICA_READ_APPS
        return REPLICA if wanted else None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two connections

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None
