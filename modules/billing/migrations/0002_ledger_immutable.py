"""The database itself refuses to edit or delete a ledger entry."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION billing_ledger_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable; post a correcting entry instead';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER billing_ledger_immutable BEFORE UPDATE OR DELETE ON billing_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_immutable();
"""

REVERSE = """
DROP TRIGGER IF EXISTS billing_ledger_immutable ON billing_ledgerentry;
DROP FUNCTION IF EXISTS billing_ledger_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
