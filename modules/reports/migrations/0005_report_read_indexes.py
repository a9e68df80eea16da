"""Covering indexes for the report pages that group a range of rows.

Usage per subscriber and per day read a week of daily usage: an index led by the day that
carries the organization, subscriber and octets answers them from the index alone, instead of
visiting one heap page per row. The subscriber summaries (by plan, partner, area) group every
subscriber in scope: a narrow index with the grouped columns is read instead of the wide
subscriber rows. Created here, beside the reports that read them, with raw SQL (the
networking and subscriber models are not changed); `IF NOT EXISTS` keeps them safe if those
modules ever declare the same indexes.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("networking", "0001_initial"),
        ("subscribers", "0001_initial"),
        ("reports", "0004_session_day"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS reports_usage_day_idx ON networking_dailyusage "
            "(day, organization_id) INCLUDE (subscriber_id, input_octets, output_octets)",
            "DROP INDEX IF EXISTS reports_usage_day_idx",
        ),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS reports_subscriber_summary_idx ON subscribers_subscriber "
            "(organization_id, status) INCLUDE (plan_id, created_at, area, id)",
            "DROP INDEX IF EXISTS reports_subscriber_summary_idx",
        ),
    ]
