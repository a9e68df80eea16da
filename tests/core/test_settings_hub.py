"""Settings hub: per-tenant sections, validated with clear messages."""

import pytest
from django.core.exceptions import ValidationError

from modules.settings_hub.models import (
    GeneralSettings,
    NotificationSettings,
    NotificationTemplate,
    SecuritySettings,
)
from modules.settings_hub.validators import TenantPasswordPolicyValidator

pytestmark = pytest.mark.django_db


def _general(world, **overrides):
    values = dict(
        tenant=world.tenant,
        company_name="Alpha",
        timezone="Asia/Kolkata",
        currency="INR",
        support_email="help@alpha.test",
    )
    values.update(overrides)
    return GeneralSettings(**values)


def test_valid_general_settings_pass(world):
    _general(world).full_clean()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "not a known time zone"),
        ("currency", "RUPEES", "ISO 4217"),
        ("currency", "ABC", "ISO 4217"),
        ("support_email", "not-an-email", "valid email"),
    ],
)
def test_invalid_general_settings_are_refused_clearly(world, field, value, message):
    with pytest.raises(ValidationError) as error:
        _general(world, **{field: value}).full_clean()
    assert message in str(error.value.message_dict[field])


def test_settings_hub_lists_sections_for_an_isp_admin(world, login):
    client = login(world.users["isp_admin"])
    page = client.get("/settings/index").content.decode()
    for section in ("General", "Security", "Notifications", "Roles and permissions", "Audit trail"):
        assert f'data-section="{section}"' in page


def test_partner_sees_no_tenant_settings_in_the_hub(world, login):
    client = login(world.users["dist"])
    page = client.get("/settings/index").content.decode()
    assert 'data-section="General"' not in page
    assert 'data-section="Security"' not in page
    assert client.get("/admin/settings_hub/generalsettings/").status_code == 403


def test_general_settings_edit_through_the_admin_refuses_a_bad_timezone(world, login):
    client = login(world.users["isp_admin"])
    landing = client.get("/admin/settings_hub/generalsettings/")
    assert landing.status_code == 302
    change_url = landing["Location"]
    row = GeneralSettings.objects.get(tenant=world.tenant)
    form = {
        "company_name": "Alpha Broadband",
        "timezone": "Nowhere/City",
        "currency": "INR",
        "country": "IN",
        "date_format": "d/m/Y",
        "number_format": "indian",
    }
    response = client.post(change_url, form)
    assert response.status_code == 200
    assert "not a known time zone" in response.content.decode()
    row.refresh_from_db()
    assert row.timezone == "Asia/Kolkata"
    form["timezone"] = "Europe/Berlin"
    assert client.post(change_url, form).status_code == 302
    row.refresh_from_db()
    assert row.timezone == "Europe/Berlin"


def test_email_channel_needs_sender_and_server(world):
    with pytest.raises(ValidationError) as error:
        NotificationSettings(tenant=world.tenant, email_enabled=True).full_clean()
    assert set(error.value.message_dict) == {"email_from", "smtp_host"}


def test_template_with_broken_syntax_is_refused(world):
    template = NotificationTemplate(
        tenant=world.tenant, event="renewed", channel="sms", body="Hello {% if name %}"
    )
    with pytest.raises(ValidationError) as error:
        template.full_clean()
    assert "Template error" in str(error.value.message_dict["body"])


def test_password_policy_comes_from_security_settings(world):
    SecuritySettings.objects.create(
        tenant=world.tenant,
        min_password_length=12,
        require_uppercase=True,
        require_digit=True,
        require_symbol=True,
    )
    validator = TenantPasswordPolicyValidator()
    user = world.users["isp_admin"]
    with pytest.raises(ValidationError) as error:
        validator.validate("short", user)
    assert "at least 12 characters" in error.value.messages[0]
    assert "a symbol" in error.value.messages[0]
    validator.validate("Long-enough-1", user)
