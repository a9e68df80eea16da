"""Normalising the identity fields operators type in many shapes (phones, MACs, addresses).

The same functions serve the admin form, the import and the services, so a subscriber found
by one spelling is found by every spelling.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from phonenumbers.phonemetadata import PhoneMetadata

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
    number = _plain_international(value, region or "IN")
    if number is None:
        try:
            number = phonenumbers.parse(value, region or "IN")
        except phonenumbers.NumberParseException as exc:
            raise ValidationError(f"“{value}” is not a phone number.") from exc
    if not _is_valid_number(number):
        raise ValidationError(f"“{value}” is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _is_valid_number(number: phonenumbers.PhoneNumber) -> bool:
    """`phonenumbers.is_valid_number`'s verdict with fewer patterns tried: a number is valid
    when it fits its region's general pattern and the pattern of any number type; the library
    tries ten types in a fixed order (mobile, most subscribers' type, nearly last), here mobile
    is first. Country codes shared by several regions (+1, +7...) go to the library."""
    rules = _validity_rules(number.country_code)
    if rules is None:
        return phonenumbers.is_valid_number(number)
    national = phonenumbers.national_significant_number(number)
    general, types = rules
    return _fits(national, general) and any(_fits(national, rule) for rule in types)


def _fits(national: str, rule) -> bool:
    pattern, lengths = rule  # as phonenumbers matches a description: length, then full match
    if lengths and len(national) not in lengths:
        return False
    match = pattern.match(national)
    return match is not None and match.end() == len(national)


@lru_cache(maxsize=64)
def _validity_rules(country_code: int):
    regions = phonenumbers.region_codes_for_country_code(country_code)
    meta = PhoneMetadata.metadata_for_region(regions[0]) if len(regions) == 1 else None
    if meta is None or meta.general_desc is None:
        return None

    def rule(desc):
        if desc is None or not desc.national_number_pattern:
            return None
        return re.compile(desc.national_number_pattern), frozenset(desc.possible_length or ())

    types = [rule(d) for d in (meta.mobile, meta.fixed_line, meta.premium_rate, meta.toll_free,
                               meta.shared_cost, meta.voip, meta.personal_number, meta.pager,
                               meta.uan, meta.voicemail)]
    general = rule(meta.general_desc)
    return None if general is None else (general, [t for t in types if t is not None])


_DIAL_PUNCTUATION = str.maketrans("", "", " -().")


@lru_cache(maxsize=64)
def _dialing(region: str):
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return None
    prefix = meta.national_prefix_for_parsing
    return f"+{meta.country_code}", meta.country_code, re.compile(prefix) if prefix else None


def _plain_international(value: str, region: str) -> phonenumbers.PhoneNumber | None:
    """`+<the region's country code> <digits>`, the shape most numbers arrive in, read
    without `phonenumbers.parse` (its general parsing is most of the cost of an import row's
    phone check); the same number `parse` returns. Any other shape: None (use `parse`)."""
    dialing = _dialing(region)
    compact = value.translate(_DIAL_PUNCTUATION)
    if dialing is None or not compact.startswith(dialing[0]):
        return None
    national = compact[len(dialing[0]):]
    if (not (national.isascii() and national.isdigit() and 2 <= len(national) <= 17)
            or national[0] == "0" or (dialing[2] is not None and dialing[2].match(national))):
        return None
    return phonenumbers.PhoneNumber(country_code=dialing[1], national_number=int(national))


def normalize_email(value: str) -> str:
    value = (value or "").strip()
    if value:
        user, _, domain = value.rpartition("@")
        # Django's validator in two halves; the domain half (the costly regex) is remembered,
        # an import repeats a few domains over thousands of rows. Anything the fast path does
        # not accept goes to the validator for its own verdict and message.
        if not (user and len(value) <= 320 and validate_email.user_regex.match(user)
                and _email_domain_valid(domain)):
            validate_email(value)
    return value


@lru_cache(maxsize=4096)
def _email_domain_valid(domain: str) -> bool:
    try:
        validate_email(f"x@{domain}")
    except ValidationError:
        return False
    return True


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
