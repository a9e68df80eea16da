"""Normalising the identity fields operators type in many shapes (phones, MACs, addresses).

The same functions serve the admin form, the import and the services, so a subscriber found
by one spelling is found by every spelling.
"""

from __future__ import annotations

import ipaddress
import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

_MAC_HEX = re.compile(r"^[0-9A-F]{12}$")
MAC_LIKE = re.compile(
    r"^([0-9A-Fa-f]{2}[:\-.]?){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$")


def normalize_mac(value: str) -> str:
    """`aa-bb-cc-dd-ee-ff`, `aabb.ccdd.eeff` or `AABBCCDDEEFF` -> `AA:BB:CC:DD:EE:FF`."""
    value = (value or "").strip()
    if not value:
        return ""
    hex_digits = re.sub(r"[:\-.\s]", "", value).upper()
    if not _MAC_HEX.match(hex_digits):
        raise ValidationError(f"“{value}” is not a MAC address (e.g. AA:BB:CC:DD:EE:FF).")
    return ":".join(hex_digits[i:i + 2] for i in range(0, 12, 2))


def normalize_mobile(value: str, region: str = "IN") -> str:
    """A phone number in E.164 (`+919876543210`), read with the tenant's country as default."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, region or "IN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"“{value}” is not a phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"“{value}” is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str) -> str:
    value = (value or "").strip()
    if value:
        validate_email(value)
    return value


def normalize_ipv4(value: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError as exc:
        raise ValidationError(f"“{value}” is not an IPv4 address.") from exc


def normalize_ip(value: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise ValidationError(f"“{value}” is not an IP address.") from exc


def normalize_ipv6_prefix(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return str(ipaddress.IPv6Network(value, strict=True))
    except ValueError as exc:
        raise ValidationError(
            f"“{value}” is not an IPv6 prefix (e.g. 2001:db8:1200::/56).") from exc


def tenant_region(tenant_id: int | None) -> str:
    from modules.settings_hub.models import GeneralSettings

    if tenant_id is None:
        return "IN"
    found = GeneralSettings.objects.filter(tenant_id=tenant_id).values_list("country", flat=True)
    return (found.first() or "IN").upper()
