"""The lifecycle state machine: every transition allowed and refused, audited, evented."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from modules.subscribers import events, services
from modules.subscribers.models import StatusChange, Subscriber

S = Subscriber.Status
ALL = [s.value for s in S]
SIMPLE = {  # action -> (statuses it starts from, status it ends in)
    "activate": ({"new"}, "active"),
    "suspend": ({"active", "limited", "expired"}, "suspended"),
    "resume": ({"suspended"}, "active"),
    "limit": ({"active"}, "limited"),
    "unlimit": ({"limited"}, "active"),
    "expire": ({"active", "limited"}, "expired"),
    "terminate": ({"new", "active", "limited", "suspended", "expired"}, "terminated"),
    "renew": ({"active", "limited", "expired"}, "active"),
}


def _call(action, subscriber, actor):
    return getattr(services, action)(subscriber, actor=actor, reason="test")


def _running(subscriber_at, status):
    expires = timezone.now() + timedelta(days=10)
    return subscriber_at(status=status, activated_at=timezone.now() - timedelta(days=20),
                         expires_at=expires if status != "new" else None)


@pytest.mark.parametrize("action", sorted(SIMPLE))
def test_every_transition_is_allowed_only_from_its_source_states(
        action, world, subscriber_at, django_capture_on_commit_callbacks):
    sources, target = SIMPLE[action]
    actor = world.users["lco1"]
    for status in ALL:
        subscriber = _running(subscriber_at, status)
        if status in sources:
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                _call(action, subscriber, actor)
            subscriber.refresh_from_db()
            assert subscriber.status == target, status
            change = StatusChange.objects.get(subscriber=subscriber)
            assert (change.from_status, change.to_status, change.action, change.actor) == (
                status, target, action, actor)
            assert callbacks, "the domain event is sent after commit"
        else:
            with pytest.raises(services.TransitionError) as err:
                _call(action, subscriber, actor)
            assert subscriber.username in str(err.value)
            subscriber.refresh_from_db()
            assert subscriber.status == status
            assert not StatusChange.objects.filter(subscriber=subscriber).exists()


def test_no_event_is_sent_before_the_change_commits(world, subscriber_at):
    seen = []

    def receiver(**kwargs):
        seen.append(kwargs)

    events.status_changed.connect(receiver)
    try:
        subscriber = _running(subscriber_at, "active")
        services.suspend(subscriber, actor=world.users["isp_admin"], reason="Abuse report")
        # not yet: the test transaction has not committed
        assert seen == []
    finally:
        events.status_changed.disconnect(receiver)


def test_events_are_sent_once_the_change_commits(world, subscriber_at,
                                                 django_capture_on_commit_callbacks):
    seen = []
    events.status_changed.connect(lambda **kw: seen.append(kw), weak=False,
                                  dispatch_uid="t-commit")
    try:
        subscriber = _running(subscriber_at, "active")
        with django_capture_on_commit_callbacks(execute=True):
            services.suspend(subscriber, actor=world.users["isp_admin"], reason="Abuse report")
    finally:
        events.status_changed.disconnect(dispatch_uid="t-commit")
    assert len(seen) == 1
    assert seen[0]["old_status"] == "active" and seen[0]["new_status"] == "suspended"
    assert seen[0]["action"] == "suspend" and seen[0]["reason"] == "Abuse report"
    assert seen[0]["actor"] == world.users["isp_admin"]


def test_activation_starts_validity_now_from_the_plan(world, subscriber_at):
    subscriber = subscriber_at(status="new")
    now = timezone.now()
    services.activate(subscriber, actor=world.users["lco1"], now=now)
    assert subscriber.activated_at == now
    assert subscriber.expires_at > now + timedelta(days=28)


def test_activation_needs_a_plan(world, subscriber_at):
    subscriber = subscriber_at(status="new", plan=None)
    with pytest.raises(services.TransitionError, match="choose a plan"):
        services.activate(subscriber, actor=world.users["lco1"])


def test_renewal_extends_from_the_current_expiry_when_still_running(world, subscriber_at):
    subscriber = _running(subscriber_at, "active")
    old = subscriber.expires_at
    services.renew(subscriber, actor=world.users["lco1"])
    assert subscriber.expires_at - old > timedelta(days=29)
    assert subscriber.expires_at - old < timedelta(days=31)


def test_renewing_an_expired_subscriber_reactivates_it_from_now(world, subscriber_at):
    subscriber = subscriber_at(status="expired", expires_at=timezone.now() - timedelta(days=40))
    services.renew(subscriber, actor=world.users["lco1"])
    assert subscriber.status == "active"
    assert timedelta(days=28) < subscriber.expires_at - timezone.now() < timedelta(days=31)


def test_resuming_after_the_validity_ran_out_lands_in_expired(world, subscriber_at):
    subscriber = subscriber_at(status="suspended", expires_at=timezone.now() - timedelta(days=1))
    services.resume(subscriber, actor=world.users["lco1"])
    assert subscriber.status == "expired"


def test_change_plan_restarts_validity_on_the_new_plan_and_refuses_the_same_plan(
        world, subscriber_at, plan):
    from tests.plans.samples import make_plan

    subscriber = _running(subscriber_at, "active")
    faster = make_plan(world.orgs["root"], validity_value=7, download_kbps=200_000)
    services.change_plan(subscriber, faster, actor=world.users["lco1"], reason="Upgrade")
    assert subscriber.plan == faster
    assert subscriber.expires_at - timezone.now() < timedelta(days=8)
    with pytest.raises(services.TransitionError, match="already on"):
        services.change_plan(subscriber, faster, actor=world.users["lco1"])
    suspended = subscriber_at(status="suspended", expires_at=timezone.now())
    with pytest.raises(services.TransitionError):
        services.change_plan(suspended, plan, actor=world.users["lco1"])


def test_a_partner_cannot_put_a_subscriber_on_a_siblings_plan(world, subscriber_at):
    from tests.plans.samples import make_plan

    sibling_plan = make_plan(world.orgs["lco2"])
    subscriber = _running(subscriber_at, "active")
    with pytest.raises(PermissionDenied):
        services.change_plan(subscriber, sibling_plan, actor=world.users["lco1"])
    with pytest.raises(services.TransitionError, match="may not sell"):
        services.change_plan(subscriber, sibling_plan, actor=world.users["dist"])


def test_a_top_up_adds_an_item_within_the_cycle_and_lifts_an_fup_limit(world, subscriber_at,
                                                                         topup):
    subscriber = _running(subscriber_at, "limited")
    addon = services.add_plan_item(subscriber, topup, actor=world.users["lco1"])
    assert addon.kind == "topup" and addon.quota_mb == 51200
    assert addon.expires_at == subscriber.expires_at
    assert subscriber.status == "active"
    assert StatusChange.objects.filter(subscriber=subscriber, action="topup").exists()


def test_an_item_needs_an_item_plan_and_a_running_service(world, subscriber_at, plan, topup):
    running = _running(subscriber_at, "active")
    with pytest.raises(services.TransitionError, match="broadband"):
        services.add_plan_item(running, plan, actor=world.users["lco1"])
    with pytest.raises(services.TransitionError):
        services.add_plan_item(subscriber_at(status="expired"), topup, actor=world.users["lco1"])


def test_extending_an_expired_subscriber_brings_it_back_for_those_days(world, subscriber_at):
    subscriber = subscriber_at(status="expired", expires_at=timezone.now() - timedelta(days=3))
    services.extend_validity(subscriber, actor=world.users["lco1"], days=2, reason="Outage")
    assert subscriber.status == "active"
    assert timedelta(days=1) < subscriber.expires_at - timezone.now() <= timedelta(days=2)
    with pytest.raises(services.TransitionError, match="1 to 366"):
        services.extend_validity(subscriber, actor=world.users["lco1"], days=0)
    with pytest.raises(services.TransitionError):
        services.extend_validity(subscriber_at(status="new"), actor=world.users["lco1"], days=3)


def test_reset_mac_and_password_are_audited_and_the_password_is_stored_encrypted(
        world, subscriber_at):
    subscriber = subscriber_at(status="active", mac_address="AA:BB:CC:DD:EE:FF")
    services.reset_mac(subscriber, actor=world.users["lco1"])
    assert Subscriber.objects.get(pk=subscriber.pk).mac_address == ""
    generated = services.reset_password(subscriber, actor=world.users["lco1"])
    stored = Subscriber.objects.get(pk=subscriber.pk)
    assert len(generated) == 10 and generated not in stored.password_encrypted
    assert stored.get_password() == generated
    chosen = services.reset_password(subscriber, actor=None, new_password="Chosen-99")
    assert chosen == "Chosen-99"
    actions = set(StatusChange.objects.filter(subscriber=subscriber)
                  .values_list("action", flat=True))
    assert {"reset_mac", "reset_password"} <= actions


def test_move_within_scope_only_and_only_where_the_plan_is_sold(world, subscriber_at):
    from tests.plans.samples import make_plan

    subscriber = subscriber_at("lco1", status="active")
    services.move_to_organization(subscriber, world.orgs["lco2"], actor=world.users["dist"],
                                  reason="Area handover")
    assert Subscriber.objects.get(pk=subscriber.pk).organization == world.orgs["lco2"]
    with pytest.raises(PermissionDenied):
        services.move_to_organization(subscriber, world.orgs["partner"],
                                      actor=world.users["dist"])
    own = subscriber_at("lco2", status="active", plan=make_plan(world.orgs["lco2"]))
    with pytest.raises(services.TransitionError, match="change the plan first"):
        services.move_to_organization(own, world.orgs["lco1"], actor=world.users["isp_admin"])
    with pytest.raises(services.TransitionError, match="only move within"):
        services.move_to_organization(own, world.orgs["other_root"], actor=None)


SERVICE_CALLS = {
    "activate": lambda s, a: services.activate(s, actor=a),
    "renew": lambda s, a: services.renew(s, actor=a),
    "suspend": lambda s, a: services.suspend(s, actor=a),
    "resume": lambda s, a: services.resume(s, actor=a),
    "terminate": lambda s, a: services.terminate(s, actor=a),
    "limit": lambda s, a: services.limit(s, actor=a),
    "unlimit": lambda s, a: services.unlimit(s, actor=a),
    "expire": lambda s, a: services.expire(s, actor=a),
    "extend_validity": lambda s, a: services.extend_validity(s, actor=a, days=3),
    "reset_mac": lambda s, a: services.reset_mac(s, actor=a),
    "reset_password": lambda s, a: services.reset_password(s, actor=a),
    "reveal_password": lambda s, a: services.reveal_password(s, actor=a),
    "move_to_organization": lambda s, a: services.move_to_organization(
        s, s.organization, actor=a),
}


def test_every_service_refuses_an_actor_without_scope_on_the_subscriber(world, subscriber_at):
    subscriber = subscriber_at("lco2", status="active", expires_at=timezone.now())
    for name, call in SERVICE_CALLS.items():
        for outsider in ("lco1", "partner", "other_admin"):
            with pytest.raises(PermissionDenied):
                call(subscriber, world.users[outsider])
            assert Subscriber.objects.get(pk=subscriber.pk).status == "active", name
    assert not StatusChange.objects.filter(subscriber=subscriber).exists()


def test_create_subscriber_normalises_identity_and_refuses_duplicates(world, plan):
    created = services.create_subscriber(
        actor=world.users["lco1"], organization=world.orgs["lco1"], username="asha.k",
        password="Secret-123", name="Asha", plan=plan, mobile="098220 12345",
        mac_address="aa-bb-cc-dd-ee-ff", email="asha@example.com")
    assert (created.mobile, created.mac_address, created.status) == (
        "+919822012345", "AA:BB:CC:DD:EE:FF", "new")
    assert created.get_password() == "Secret-123"
    with pytest.raises(Exception, match="already exists"):
        services.create_subscriber(actor=world.users["isp_admin"], organization=world.orgs["root"],
                                   username="asha.k", password="x" * 8, name="Other")
    with pytest.raises(PermissionDenied):
        services.create_subscriber(actor=world.users["lco1"], organization=world.orgs["lco2"],
                                   username="nope", password="x" * 8, name="Nope")


def test_reveal_needs_its_own_permission_and_leaves_a_trace(world, subscriber_at):
    subscriber = subscriber_at("dist", status="active")
    with pytest.raises(PermissionDenied):
        services.reveal_password(subscriber, actor=world.users["no_perm"])
    assert services.reveal_password(subscriber, actor=world.users["dist"],
                                    reason="Customer on call") == "Secret-123"
    trace = StatusChange.objects.get(subscriber=subscriber, action="reveal_password")
    assert trace.actor == world.users["dist"] and trace.reason == "Customer on call"
