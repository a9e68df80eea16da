"""Subscriber changes reach the RADIUS servers once per statement, not once per row.

A bulk import COPYs thousands of subscribers in one statement; the per-row trigger serialized
every row to JSON to notify its id, about half of the insert's cost. These statement triggers
read the changed ids from the transition table and send them in lists ("subscriber:1,2,3",
500 ids a notification, well under PostgreSQL's 8000-byte payload limit).
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION networking_notify_radius_subscribers() RETURNS trigger AS $$
DECLARE
    ids text;
BEGIN
    FOR ids IN
        SELECT string_agg(id::text, ',') FROM (
            SELECT id, (row_number() OVER ()) / 500 AS chunk FROM changed_rows
        ) numbered GROUP BY chunk
    LOOP
        PERFORM pg_notify('radius_config', 'subscriber:' || ids);
    END LOOP;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

TABLE = "subscribers_subscriber"
TRIGGERS = [
    ("radius_cfg_subscriber_ins", "INSERT", "NEW"),
    ("radius_cfg_subscriber_upd", "UPDATE", "NEW"),
    ("radius_cfg_subscriber_del", "DELETE", "OLD"),
]
CREATE = [
    f"CREATE TRIGGER {name} AFTER {event} ON {TABLE} REFERENCING {side} TABLE AS changed_rows "
    f"FOR EACH STATEMENT EXECUTE FUNCTION networking_notify_radius_subscribers();"
    for name, event, side in TRIGGERS
]
DROP = [f"DROP TRIGGER IF EXISTS {name} ON {TABLE};" for name, _, _ in TRIGGERS]
ROW_TRIGGER = (
    f"CREATE TRIGGER radius_cfg_subscriber AFTER INSERT OR UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION networking_notify_radius_config('subscriber', 'id');"
)


class Migration(migrations.Migration):
    dependencies = [
        ("networking", "0005_session_unique_stop"),
        ("subscribers", "0004_subscriber_ip_pool"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION,
                          "DROP FUNCTION IF EXISTS networking_notify_radius_subscribers();"),
        migrations.RunSQL(f"DROP TRIGGER IF EXISTS radius_cfg_subscriber ON {TABLE};",
                          ROW_TRIGGER),
        migrations.RunSQL(CREATE, DROP),
    ]
