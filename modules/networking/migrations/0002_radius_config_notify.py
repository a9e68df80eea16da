"""Triggers that tell running RADIUS servers which row changed (LISTEN radius_config).

Triggers, not signals: bulk updates, other modules' services and manual SQL all reach the
server's in-memory snapshot within a second, without a restart. The payload is
"<kind>:<id>"; notifications are delivered at COMMIT, and only then.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION networking_notify_radius_config() RETURNS trigger AS $$
DECLARE
    changed jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
BEGIN
    PERFORM pg_notify('radius_config', TG_ARGV[0] || ':' || (changed ->> TG_ARGV[1]));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

# (trigger name, table, events, kind, id column, WHEN condition)
TRIGGERS = [
    ("radius_cfg_subscriber", "subscribers_subscriber", "INSERT OR UPDATE OR DELETE",
     "subscriber", "id", ""),
    ("radius_cfg_plan", "plans_plan", "INSERT OR UPDATE OR DELETE", "plan", "id", ""),
    ("radius_cfg_planattr", "plans_planattribute", "INSERT OR UPDATE OR DELETE", "plan",
     "plan_id", ""),
    ("radius_cfg_nas", "networking_nasdevice", "INSERT OR DELETE OR UPDATE OF organization_id, "
     "address, secret, vendor, nas_identifier, coa_port, require_message_authenticator, "
     "is_active", "nas", "id", ""),
    ("radius_cfg_ipv4pool", "networking_ipv4pool", "INSERT OR UPDATE OR DELETE", "pools", "id", ""),
    ("radius_cfg_ipv4pool_nas", "networking_ipv4pool_nas_devices", "INSERT OR DELETE", "pools",
     "ipv4pool_id", ""),
    ("radius_cfg_ipv6pool", "networking_ipv6pool", "INSERT OR UPDATE OR DELETE", "pools", "id", ""),
    ("radius_cfg_ipv6pool_nas", "networking_ipv6pool_nas_devices", "INSERT OR DELETE", "pools",
     "ipv6pool_id", ""),
    ("radius_cfg_cycle_new", "networking_cycleusage", "INSERT", "fup", "subscriber_id", ""),
    ("radius_cfg_cycle", "networking_cycleusage", "UPDATE", "fup", "subscriber_id",
     "WHEN (OLD.exhausted IS DISTINCT FROM NEW.exhausted OR OLD.boosted IS DISTINCT FROM "
     "NEW.boosted)"),
]


def _create(name, table, events, kind, column, when):
    return (f"CREATE TRIGGER {name} AFTER {events} ON {table} FOR EACH ROW {when} "
            f"EXECUTE FUNCTION networking_notify_radius_config('{kind}', '{column}');")


class Migration(migrations.Migration):
    dependencies = [
        ("networking", "0001_initial"),
        ("plans", "0001_initial"),
        ("subscribers", "0002_subscriberaddon_subscriber_sub_created_id_idx_and_more"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION IF EXISTS networking_notify_radius_config();"),
        *[
            migrations.RunSQL(_create(*trigger), f"DROP TRIGGER IF EXISTS {trigger[0]} ON {trigger[1]};")
            for trigger in TRIGGERS
        ],
    ]
