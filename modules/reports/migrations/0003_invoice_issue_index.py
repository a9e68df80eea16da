"""The invoices report lists a date range newest first, one page at a time: an index on the
issue day lets the first page read 51 rows instead of sorting every invoice of the range.

Created here, beside the report that reads it, with raw SQL (the billing models are not
changed); `IF NOT EXISTS` keeps it safe if billing ever declares the same index.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0001_initial"),
        ("reports", "0002_dashboard_tallies"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS reports_invoice_issue_idx "
            "ON billing_invoice (issue_date DESC, id DESC)",
            "DROP INDEX IF EXISTS reports_invoice_issue_idx",
        ),
    ]
