"""Interim-Updates rewrite an open session's row in place (a HOT update).

An Interim-Update changes `updated_at`, the counters and the session time. With an index on
`updated_at` every one of them wrote a new entry into each of the table's ten indexes; without
it, and with a fifth of every page left free, PostgreSQL updates the row in its page and
touches no index. The stale-session sweep finds open sessions through the other partial
indexes on open sessions (or the open sessions' own partition) instead.
"""

from django.db import migrations

TABLE = "networking_radiussession"
# On a partitioned table the open sessions (the rows that are updated) live in the default
# partition; a partitioned parent has no storage of its own.
STORAGE = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_class WHERE relname = '{table}' AND relkind = 'p') THEN
        IF to_regclass('{table}_default') IS NOT NULL THEN
            ALTER TABLE {table}_default SET (fillfactor = {fill});
        END IF;
    ELSE
        ALTER TABLE {table} SET (fillfactor = {fill});
    END IF;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("networking", "0006_subscriber_notify_per_statement"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="radiussession", name="session_live_updated_idx"),
        migrations.RunSQL(STORAGE.format(table=TABLE, fill=80),
                          STORAGE.format(table=TABLE, fill=100)),
    ]
