"""The million-row paths: paging, sorting, scope predicates, batch password encryption, the
import's fast validators and the database-written export."""

import csv
import io
from datetime import timedelta

import phonenumbers
import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from modules.subscribers import selectors
from modules.subscribers.admin import SubscriberAdmin
from modules.subscribers.crypto import _key, decrypt_password, encrypt_passwords
from modules.subscribers.models import Subscriber
from modules.subscribers.validation import normalize_email, normalize_mobile
from tests.subscribers.samples import make_subscriber

CHANGELIST = "admin:subscribers_subscriber_changelist"


@pytest.fixture
def small_pages():
    SubscriberAdmin.list_per_page, saved = 2, SubscriberAdmin.list_per_page
    yield
    SubscriberAdmin.list_per_page = saved


@pytest.fixture
def eleven(world, plan):
    """Eleven subscribers of lco1, one created per hour, odd ones expiring within 6 days."""
    now = timezone.now()
    subs = []
    for index in range(11):
        sub = make_subscriber(world.orgs["lco1"], username=f"row{index:02d}", plan=plan,
                              status="active" if index % 2 else "suspended",
                              expires_at=now + timedelta(days=5 if index % 2 else 40,
                                                         hours=index))
        Subscriber.objects.filter(pk=sub.pk).update(created_at=now - timedelta(hours=index))
        subs.append(sub.username)
    make_subscriber(world.orgs["lco2"], username="elsewhere", plan=plan)
    return subs  # newest first


def _page(client, **params):
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return [s.username for s in response.context["cl"].result_list], response.context["cl"]


def test_a_deep_page_holds_the_rows_of_its_slice_in_order(client, world, eleven, small_pages):
    client.force_login(world.users["lco1"])
    assert _page(client, p="1")[0] == eleven[0:2]
    assert _page(client, p="4")[0] == eleven[6:8]
    rows, cl = _page(client, p="6")
    assert rows == eleven[10:11]
    assert cl.paginator.count == 11 and cl.paginator.num_pages == 6


def test_a_deep_page_under_a_filter_and_a_search(client, world, eleven, small_pages):
    client.force_login(world.users["lco1"])
    expiring = [name for index, name in enumerate(eleven) if index % 2]  # row01, row03, ...
    assert _page(client, list="expiring_7", p="2")[0] == expiring[2:4]
    assert _page(client, list="expiring_7", q="row0", p="2")[0] == ["row05", "row07"]


def test_a_page_past_the_end_is_refused_like_django_does(client, world, eleven, small_pages):
    client.force_login(world.users["lco1"])
    response = client.get(reverse(CHANGELIST), {"p": "40"})
    assert response.status_code == 302 and "e=1" in response.url


def test_sorting_by_expiry_breaks_ties_in_the_same_direction(client, world, eleven, plan):
    same = timezone.now() + timedelta(days=3)
    tied = [make_subscriber(world.orgs["lco1"], username=f"tie{i}", plan=plan,
                            expires_at=same).pk for i in range(3)]
    client.force_login(world.users["lco1"])
    expiry_column = SubscriberAdmin.list_display.index("expires_at") + 1  # after the checkbox
    _rows, cl = _page(client, o=str(expiry_column))
    assert [s.pk for s in cl.result_list if s.pk in tied] == sorted(tied)
    assert [str(o) for o in cl.queryset.query.order_by][-1] == "pk"
    _rows, cl = _page(client, o=f"-{expiry_column}")
    assert [s.pk for s in cl.result_list if s.pk in tied] == sorted(tied, reverse=True)


def test_the_scope_of_a_whole_isp_is_one_tenant_predicate(world, eleven):
    sql = str(selectors.visible_to(Subscriber.objects.all(), world.users["isp_admin"]).query)
    assert '"tenant_id" IN' in sql and "core_organization" not in sql
    mine = selectors.visible_to(Subscriber.objects.all(), world.users["lco1"])
    assert set(mine.values_list("username", flat=True)) == set(eleven)
    partner = selectors.visible_to(Subscriber.objects.all(), world.users["partner"])
    assert not partner.filter(username__in=[*eleven, "elsewhere"]).exists()


def test_the_username_search_uses_the_expression_of_the_trigram_index(client, world, eleven):
    client.force_login(world.users["lco1"])
    with CaptureQueriesContext(connection) as queries:
        rows, _ = _page(client, q="ow0")
    assert set(rows) == {f"row0{i}" for i in range(10)}
    assert any('UPPER("subscribers_subscriber"."username"::text) LIKE' in q["sql"]
               for q in queries)


def test_batch_encrypted_passwords_are_fernet_tokens_with_their_own_iv():
    texts = ["", "a", "Pass-000001", "x" * 16, "ünïcode-Ω" * 5]
    tokens = encrypt_passwords(texts)
    assert [decrypt_password(t) for t in tokens] == texts
    assert [Fernet(_key()).decrypt(t.encode()).decode() for t in tokens] == texts
    again = encrypt_passwords(texts)
    assert not set(tokens) & set(again)  # fresh IVs every time
    assert len({t[:40] for t in encrypt_passwords(["same"] * 50)}) == 50


@pytest.mark.parametrize("value", [
    "+91 98220 12345", "+91 (982) 201-2345", "+91 98.220.12345", "+9109822012345",
    "+91 12345", "+91 98220 1234567", "098220 12345", "9822012345", "+1 415 555 2671",
    "+91 60000 00000", "+91 98220 12345 ext 7", "+91-98220-1234\uff15",  # a full-width digit
])
def test_the_phone_fast_path_agrees_with_phonenumbers(value):
    try:
        number = phonenumbers.parse(value, "IN")
        expected = (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                    if phonenumbers.is_valid_number(number) else None)
    except phonenumbers.NumberParseException:
        expected = None
    try:
        got = normalize_mobile(value, "IN")
    except ValidationError:
        got = None
    assert got == expected


@pytest.mark.parametrize("value", [
    "asha@example.com", "a.b+c@mail.example", "bad@", "@bad.example", "no-at-sign",
    "x@localhost", "x@[10.0.0.1]", "x@exa mple.com", "x@-bad.example", "ü@example.com",
    "x@" + "a" * 320 + ".com", "x@münchen.de",
])
def test_the_email_fast_path_agrees_with_django(value):
    try:
        validate_email(value)
        expected = True
    except ValidationError:
        expected = False
    try:
        normalize_email(value)
        got = True
    except ValidationError:
        got = False
    assert got == expected


def test_export_is_written_by_the_database_with_every_cell_neutralised(client, world, plan):
    make_subscriber(world.orgs["lco1"], username="evil", name="=cmd|' /C calc'!A0",
                    address="+SUM(A1:A9)", notes="\tTAB", city="-2+3", area="@x",
                    plan=plan, static_ipv4="100.64.0.9", simultaneous_use=2,
                    expires_at=timezone.now() + timedelta(days=1))
    make_subscriber(world.orgs["lco1"], username="plain", name="Plain, \"quoted\"\nName",
                    plan=None)
    client.force_login(world.users["lco1"])
    response = client.get(reverse(CHANGELIST) + "export_csv/")
    text = b"".join(response.streaming_content).decode()
    rows = {r["username"]: r for r in csv.DictReader(io.StringIO(text))}
    evil, plain = rows["evil"], rows["plain"]
    assert "password" not in evil and "Secret-123" not in text
    assert (evil["name"], evil["address"], evil["notes"], evil["city"], evil["area"]) == (
        "'=cmd|' /C calc'!A0", "'+SUM(A1:A9)", "'\tTAB", "'-2+3", "'@x")
    assert (evil["static_ipv4"], evil["simultaneous_use"], evil["plan"]) == (
        "100.64.0.9", "2", "fiber-100")
    assert len(evil["expires_at"]) == 19
    assert (plain["name"], plain["plan"], plain["expires_at"]) == (
        "Plain, \"quoted\"\nName", "", "")


@pytest.mark.parametrize("region", ["IN", "GB", "AE", "DE", "BD", "NP", "IT", "US", "RU", "SG"])
def test_the_phone_validity_check_agrees_with_phonenumbers(region):
    """Example numbers of every type, and neighbours of them, valid or not."""
    from random import Random

    from modules.subscribers.validation import _is_valid_number

    rnd, checked = Random(region), 0
    for kind in range(12):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        for _ in range(40):
            digits = list(str(example.national_number))
            digits[rnd.randrange(len(digits))] = str(rnd.randrange(10))
            if rnd.random() < 0.2:
                digits = digits[:-1] if rnd.random() < 0.5 else [*digits, "1"]
            number = phonenumbers.PhoneNumber(
                country_code=example.country_code, national_number=int("".join(digits)),
                italian_leading_zero=example.italian_leading_zero)
            assert _is_valid_number(number) == phonenumbers.is_valid_number(number), number
            checked += 1
    assert checked
