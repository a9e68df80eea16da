"""Service actions in the admin: POST only, permission- and scope-checked, calling services."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from modules.subscribers.models import KycDocument, StatusChange, Subscriber

SUBMITTED = {"_form_submitted": "on"}


def url(obj, name):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=[obj.pk])


@pytest.fixture
def running(subscriber_at):
    return subscriber_at("lco1", status="active", expires_at=timezone.now() + timedelta(days=5),
                         activated_at=timezone.now() - timedelta(days=25))


def test_a_dialog_opens_on_get_and_changes_nothing(client, world, running):
    client.force_login(world.users["lco1"])
    response = client.get(url(running, "suspend"))
    assert response.status_code == 200
    assert b'name="reason"' in response.content
    assert Subscriber.objects.get(pk=running.pk).status == "active"


def test_suspend_dialog_post_suspends_with_the_reason_in_history(client, world, running):
    client.force_login(world.users["lco1"])
    response = client.post(url(running, "suspend"), {**SUBMITTED, "reason": "Abuse report"})
    assert response.status_code == 302
    assert Subscriber.objects.get(pk=running.pk).status == "suspended"
    change = StatusChange.objects.get(subscriber=running, action="suspend")
    assert change.reason == "Abuse report" and change.actor == world.users["lco1"]


def test_htmx_dialog_post_redirects_through_the_hx_header(client, world, running):
    client.force_login(world.users["lco1"])
    response = client.post(url(running, "extend_validity"),
                           {**SUBMITTED, "days": "3", "reason": "Outage"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].endswith(f"/{running.pk}/change/")


def test_a_refused_transition_is_reported_and_changes_nothing(client, world, subscriber_at):
    new = subscriber_at("lco1", status="new")
    client.force_login(world.users["lco1"])
    response = client.post(url(new, "resume"), SUBMITTED, follow=True)
    assert b"Cannot resume" in response.content
    assert Subscriber.objects.get(pk=new.pk).status == "new"


ACTION_DATA = {
    "activate": {}, "renew": {}, "change_plan": {}, "add_plan_item": {},
    "suspend": {"reason": "x"}, "resume": {}, "terminate": {"reason": "x"},
    "extend_validity": {"days": "3", "reason": "x"}, "reset_mac": {}, "reset_password": {},
    "move_to_organization": {"reason": "x"}, "reveal_password": {"reason": "x"},
}


def test_an_out_of_scope_subscriber_is_not_found_for_every_action(client, world,
                                                                    subscriber_at):
    other = subscriber_at("lco2", status="active", expires_at=timezone.now())
    client.force_login(world.users["lco1"])
    for action, data in ACTION_DATA.items():
        assert client.get(url(other, action)).status_code == 404, action
        assert client.post(url(other, action), {**SUBMITTED, **data}).status_code == 404
    assert Subscriber.objects.get(pk=other.pk).status == "active"
    assert not StatusChange.objects.filter(subscriber=other).exists()


def test_a_user_without_permission_is_refused_every_action(client, world, subscriber_at):
    mine = subscriber_at("lco1", status="active", expires_at=timezone.now())
    client.force_login(world.users["no_perm"])  # its scope holds lco1, its role holds nothing
    for action, data in ACTION_DATA.items():
        assert client.post(url(mine, action), {**SUBMITTED, **data}).status_code == 403, action
    assert Subscriber.objects.get(pk=mine.pk).status == "active"
    assert not StatusChange.objects.filter(subscriber=mine).exists()


def test_view_only_user_cannot_run_service_actions(client, world, running):
    from django.contrib.auth.models import Permission

    world.empty_role.permissions.set(Permission.objects.filter(codename="view_subscriber"))
    client.force_login(world.users["no_perm"])
    assert client.get(reverse("admin:subscribers_subscriber_change", args=[running.pk])
                      ).status_code == 200
    assert client.post(url(running, "suspend"), {**SUBMITTED, "reason": "x"}).status_code == 403


def test_reveal_shows_the_password_once_and_records_who_asked(client, world, running):
    client.force_login(world.users["dist"])
    response = client.post(url(running, "reveal_password"), {**SUBMITTED, "reason": "On call"})
    assert response.status_code == 200 and b"Secret-123" in response.content
    assert StatusChange.objects.filter(subscriber=running, action="reveal_password",
                                       actor=world.users["dist"]).exists()


def test_the_change_page_never_shows_the_password(client, world, running):
    client.force_login(world.users["isp_admin"])
    response = client.get(reverse("admin:subscribers_subscriber_change", args=[running.pk]))
    assert response.status_code == 200
    assert b"Secret-123" not in response.content
    assert running.password_encrypted.encode() not in response.content


def test_reset_password_shows_the_new_password(client, world, running):
    client.force_login(world.users["lco1"])
    response = client.post(url(running, "reset_password"),
                           {**SUBMITTED, "new_password": "Fresh-pass-1"})
    assert b"Fresh-pass-1" in response.content
    assert Subscriber.objects.get(pk=running.pk).get_password() == "Fresh-pass-1"


def test_change_plan_and_add_item_dialogs_offer_only_sellable_plans(client, world, running,
                                                                    topup):
    from tests.plans.samples import make_plan

    sibling = make_plan(world.orgs["lco2"], name="Sibling Secret Plan")
    client.force_login(world.users["lco1"])
    page = client.get(url(running, "change_plan")).content
    assert b"Fiber 100" in page and b"Sibling Secret Plan" not in page
    response = client.post(url(running, "change_plan"), {**SUBMITTED, "plan": sibling.pk})
    assert response.status_code == 200  # the dialog again, with the choice refused
    assert Subscriber.objects.get(pk=running.pk).plan_id != sibling.pk
    client.post(url(running, "add_plan_item"), {**SUBMITTED, "plan": topup.pk})
    assert running.addons.filter(plan=topup).exists()


def test_move_dialog_moves_within_the_users_subtree_only(client, world, running):
    client.force_login(world.users["dist"])
    client.post(url(running, "move_to_organization"),
                {**SUBMITTED, "organization": world.orgs["lco2"].pk, "reason": "handover"})
    assert Subscriber.objects.get(pk=running.pk).organization == world.orgs["lco2"]
    client.post(url(running, "move_to_organization"),
                {**SUBMITTED, "organization": world.orgs["partner"].pk})
    assert Subscriber.objects.get(pk=running.pk).organization == world.orgs["lco2"]


def _bulk(client, action, ids, follow=False, **data):
    return client.post(reverse("admin:subscribers_subscriber_changelist"),
                       {"action": action, "_selected_action": [str(i) for i in ids], **data},
                       follow=follow)


def test_bulk_suspend_asks_for_a_reason_then_suspends_the_selection(client, world,
                                                                     subscriber_at):
    subs = [subscriber_at("lco1", status="active", expires_at=timezone.now()) for _ in range(3)]
    new = subscriber_at("lco1", status="new")
    client.force_login(world.users["lco1"])
    ids = [s.pk for s in subs] + [new.pk]
    page = _bulk(client, "suspend_selected", ids)
    assert page.status_code == 200 and b'name="reason"' in page.content
    assert Subscriber.objects.filter(status="suspended").count() == 0
    done = _bulk(client, "suspend_selected", ids, apply="1", reason="Dues", follow=True)
    assert Subscriber.objects.filter(pk__in=[s.pk for s in subs], status="suspended").count() == 3
    assert b"3 done" in done.content and b"Cannot suspend" in done.content
    assert Subscriber.objects.get(pk=new.pk).status == "new"


def test_bulk_extend_and_move(client, world, subscriber_at):
    subs = [subscriber_at("lco1", status="active", expires_at=timezone.now()) for _ in range(2)]
    client.force_login(world.users["dist"])
    _bulk(client, "extend_selected", [s.pk for s in subs], apply="1", days="7", reason="Outage")
    for s in subs:
        assert Subscriber.objects.get(pk=s.pk).expires_at > timezone.now() + timedelta(days=6)
    _bulk(client, "move_selected", [s.pk for s in subs], apply="1",
          organization=world.orgs["lco2"].pk)
    assert set(Subscriber.objects.filter(pk__in=[s.pk for s in subs])
               .values_list("organization__code", flat=True)) == {"lco2"}


def test_bulk_actions_ignore_ids_outside_scope(client, world, subscriber_at):
    other = subscriber_at("lco2", status="active", expires_at=timezone.now())
    client.force_login(world.users["lco1"])
    _bulk(client, "suspend_selected", [other.pk], apply="1", reason="x")
    assert Subscriber.objects.get(pk=other.pk).status == "active"


def test_kyc_documents_are_verified_or_rejected_with_a_note(client, world, running):
    passport = KycDocument.objects.create(subscriber=running, doc_type="passport", number="Z123")
    photo = KycDocument.objects.create(subscriber=running, doc_type="photo")
    client.force_login(world.users["lco1"])
    client.post(url(passport, "verify"), {**SUBMITTED, "note": ""})
    passport.refresh_from_db()
    assert passport.status == "verified" and passport.reviewed_by == world.users["lco1"]
    refused = client.post(url(photo, "reject"), {**SUBMITTED, "note": ""})
    assert refused.status_code == 200  # note required: the dialog again
    client.post(url(photo, "reject"), {**SUBMITTED, "note": "Face not visible"})
    photo.refresh_from_db()
    assert photo.status == "rejected" and photo.note == "Face not visible"
    again = client.post(url(photo, "verify"), SUBMITTED, follow=True)
    assert b"already rejected" in again.content


def test_kyc_review_out_of_scope_is_not_found(client, world, subscriber_at):
    other = subscriber_at("lco2", status="active")
    document = KycDocument.objects.create(subscriber=other, doc_type="pan")
    client.force_login(world.users["lco1"])
    assert client.post(url(document, "verify"), SUBMITTED).status_code == 404
    assert KycDocument.objects.get(pk=document.pk).status == "pending"


def test_creating_a_subscriber_in_the_admin_goes_through_the_service(client, world, plan):
    client.force_login(world.users["lco1"])
    response = client.post(reverse("admin:subscribers_subscriber_add"), {
        "organization": world.orgs["lco1"].pk, "username": "new.user", "password": "Pass-1234",
        "plan": plan.pk, "auto_renew": "on", "name": "New User", "mobile": "98220 11111",
        "connection_type": "pppoe", "mac_address": "aabb.ccdd.eeff",
        "documents-TOTAL_FORMS": "0", "documents-INITIAL_FORMS": "0",
        "status_changes-TOTAL_FORMS": "0", "status_changes-INITIAL_FORMS": "0",
        "addons-TOTAL_FORMS": "0", "addons-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    created = Subscriber.objects.get(username="new.user")
    assert (created.mobile, created.mac_address, created.status) == (
        "+919822011111", "AA:BB:CC:DD:EE:FF", "new")
    assert created.get_password() == "Pass-1234"
    assert StatusChange.objects.filter(subscriber=created, action="create").exists()
