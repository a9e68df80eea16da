"""Sessions: `unique_id` unique together with `stopped_at` (NULLs equal) instead of alone.

The key a table partitioned by month of `stopped_at` can keep (docs/DEPLOYMENT.md §9.5). The
new index is built CONCURRENTLY, so accounting keeps writing while it builds; the old one is
dropped after it is in place.
"""

from django.db import migrations, models

TABLE = "networking_radiussession"


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY

    dependencies = [
        ("networking", "0004_drop_redundant_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS session_unique_stop "
                    f"ON {TABLE} (unique_id, stopped_at) NULLS NOT DISTINCT",
                    reverse_sql=f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS "
                                "session_unique_stop",
                ),
                migrations.RunSQL(
                    f"ALTER TABLE {TABLE} ADD CONSTRAINT session_unique_stop "
                    "UNIQUE USING INDEX session_unique_stop",
                    reverse_sql=migrations.RunSQL.noop,
                ),
                migrations.RunSQL(
                    f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {TABLE}_unique_id_key; "
                    f"DROP INDEX IF EXISTS {TABLE}_unique_id_bd390bf7_like",
                    reverse_sql=f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_unique_id_key "
                                f"UNIQUE (unique_id); CREATE INDEX {TABLE}_unique_id_bd390bf7_like"
                                f" ON {TABLE} (unique_id varchar_pattern_ops)",
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="radiussession",
                    name="unique_id",
                    field=models.CharField(max_length=32),
                ),
                migrations.AddConstraint(
                    model_name="radiussession",
                    constraint=models.UniqueConstraint(
                        fields=("unique_id", "stopped_at"), name="session_unique_stop",
                        nulls_distinct=False),
                ),
            ],
        ),
    ]
