"""Run session tests twice: on the plain sessions table and on one partitioned by month.

Import `sessions_table` into a test module and mark it `usefixtures("sessions_table")`. In a
test inside a transaction the conversion is rolled back with it; in a transactional test
(the RADIUS server's threads need committed data) the plain table is rebuilt from the model
afterwards, before the flush empties it.
"""

import pytest
from django.db import connection

from modules.networking.models import RadiusSession
from modules.ops import partitions

SESSIONS = "networking_radiussession"


def sessions_spec() -> partitions.Partitioned:
    return next(spec for spec in partitions.tables() if spec.table == SESSIONS)


@pytest.fixture(params=["plain", "partitioned"])
def sessions_table(request):
    if request.param == "plain":
        yield request.param
        return
    transactional = "transactional_db" in request.fixturenames
    request.getfixturevalue("transactional_db" if transactional else "db")
    partitions.convert(sessions_spec())
    assert partitions.is_partitioned(SESSIONS)
    yield request.param
    if transactional:
        with connection.schema_editor() as editor:
            editor.delete_model(RadiusSession)
            editor.create_model(RadiusSession)
