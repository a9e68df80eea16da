"""Queued notices leave by email (the tenant's SMTP server) and SMS (its HTTP gateway), once."""

from __future__ import annotations

import socketserver
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection

from modules.billing import notify
from modules.billing.models import OutboundMessage
from modules.networking.models import UsageAlert
from modules.networking.services import send_usage_alert
from modules.notifications.outbox import MAX_ATTEMPTS, deliver_pending
from modules.partners import notices
from modules.partners.models import Partner, PartnerNotice
from modules.settings_hub.models import NotificationSettings, NotificationTemplate
from modules.subscribers.models import Subscriber
from modules.support.models import SupportNotification
from modules.support.services.common import notify as notify_staff
from tests.world import build_world

Event = NotificationTemplate.Event


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for Django's backend: EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self):
        self.wfile.write(b"220 sink ready\r\n")
        envelope = {"to": [], "data": b""}
        while line := self.rfile.readline():
            verb = line.strip().split(b" ", 1)[0].upper().rstrip(b":")
            if verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                body = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    body += chunk
                envelope["data"] = body
                self.server.mails.append(dict(envelope))
                envelope = {"to": [], "data": b""}
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"RCPT":
                envelope["to"].append(line.decode().split(":", 1)[1].strip(" <>\r\n"))
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class _SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.mails = []


class _Gateway(BaseHTTPRequestHandler):
    def _answer(self, body: bytes):
        self.server.calls.append((self.command, self.path, body,
                                  self.headers.get("Authorization")))
        self.send_response(self.server.status)
        self.end_headers()

    def do_GET(self):
        self._answer(b"")

    def do_POST(self):
        self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def log_message(self, *args):
        pass


@contextmanager
def _serving(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def smtp():
    with _serving(_SmtpSink()) as sink:
        yield sink


@pytest.fixture
def gateway():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    server.calls, server.status = [], 200
    with _serving(server):
        yield server


@pytest.fixture
def isp(db):
    world = build_world()
    subscriber = Subscriber(tenant=world.tenant, organization=world.orgs["lco1"],
                            username="meera", name="Meera Joshi", email="meera@example.net",
                            mobile="+919800012345")
    subscriber.set_password("Secret-pass-1")
    subscriber.save()
    world.subscriber = subscriber
    return world


def _channels(tenant, smtp=None, gateway=None, url=None):
    values = {"email_enabled": smtp is not None, "sms_enabled": gateway is not None}
    if smtp is not None:
        values.update(email_from="noc@alpha.example", smtp_host="127.0.0.1",
                      smtp_port=smtp.server_address[1], smtp_use_tls=False)
    if gateway is not None:
        values.update(sms_gateway_url=url or f"http://127.0.0.1:{gateway.server_address[1]}/send",
                      sms_api_key="k-123", sms_sender_id="ALPHA")
    NotificationSettings.objects.update_or_create(tenant=tenant, defaults=values)


def _template(tenant, event, channel, body, subject=""):
    NotificationTemplate.objects.update_or_create(
        tenant=tenant, event=event, channel=channel, defaults={"subject": subject, "body": body})


def test_subscriber_notice_is_emailed_through_the_tenants_smtp_server_once(isp, smtp):
    _channels(isp.tenant, smtp=smtp)
    _template(isp.tenant, Event.RENEWED, "email", "Dear {{ name }}, renewed till {{ till }}.",
              subject="Renewed")
    notify.send(isp.subscriber, Event.RENEWED, {"till": "1 Jan"}, dedupe_key="r:1")
    message = OutboundMessage.objects.get(dedupe_key="r:1")
    assert deliver_pending()["subscriber notices"]["sent"] == 1
    (mail,) = smtp.mails
    assert mail["to"] == ["meera@example.net"]
    assert b"Subject: Renewed" in mail["data"]
    assert b"Dear Meera Joshi, renewed till 1 Jan." in mail["data"]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, "")
    assert message.sent_at is not None
    assert deliver_pending()["subscriber notices"]["sent"] == 0
    assert len(smtp.mails) == 1


def test_sms_gateway_gets_a_form_post_with_the_api_key(isp, gateway):
    _channels(isp.tenant, gateway=gateway)
    _template(isp.tenant, Event.PAYMENT_RECEIVED, "sms", "Received {{ amount }}. Thank you!")
    notify.send(isp.subscriber, Event.PAYMENT_RECEIVED, {"amount": "799.00"}, dedupe_key="p:1")
    deliver_pending()
    ((method, path, body, auth),) = gateway.calls
    assert (method, path, auth) == ("POST", "/send", "Bearer k-123")
    assert parse_qs(body.decode()) == {"to": ["+919800012345"],
                                       "text": ["Received 799.00. Thank you!"],
                                       "sender": ["ALPHA"]}


def test_sms_gateway_url_with_placeholders_is_called_filled_in(isp, gateway):
    port = gateway.server_address[1]
    _channels(isp.tenant, gateway=gateway,
              url=f"http://127.0.0.1:{port}/api?to={{to}}&msg={{text}}&from={{sender}}")
    _template(isp.tenant, Event.PAYMENT_RECEIVED, "sms", "Paid & done")
    notify.send(isp.subscriber, Event.PAYMENT_RECEIVED, {}, dedupe_key="p:2")
    deliver_pending()
    ((method, path, _, _),) = gateway.calls
    assert method == "GET"
    assert parse_qs(urlsplit(path).query) == {"to": ["+919800012345"], "msg": ["Paid & done"],
                                              "from": ["ALPHA"]}


def test_a_sign_in_code_is_not_kept_readable_after_delivery(isp, gateway):
    _channels(isp.tenant, gateway=gateway)
    _template(isp.tenant, Event.ONE_TIME_CODE, "sms", "{{ code }} is your sign-in code.")
    notify.send(isp.subscriber, Event.ONE_TIME_CODE, {"code": "482913"}, dedupe_key="otp:1")
    deliver_pending()
    assert parse_qs(gateway.calls[0][2].decode())["text"] == ["482913 is your sign-in code."]
    message = OutboundMessage.objects.get(dedupe_key="otp:1")
    assert message.status == "sent" and "482913" not in message.body


def test_a_failing_gateway_is_retried_then_the_notice_is_marked_failed(isp, gateway):
    gateway.status = 503
    _channels(isp.tenant, gateway=gateway)
    _template(isp.tenant, Event.PAYMENT_RECEIVED, "sms", "Received.")
    notify.send(isp.subscriber, Event.PAYMENT_RECEIVED, {}, dedupe_key="p:3")
    message = OutboundMessage.objects.get(dedupe_key="p:3")
    assert deliver_pending()["subscriber notices"]["retry"] == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)
    assert message.last_error == "SMS gateway answered 503"
    for _ in range(MAX_ATTEMPTS - 1):
        deliver_pending()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", MAX_ATTEMPTS)
    assert len(gateway.calls) == MAX_ATTEMPTS
    deliver_pending()
    assert len(gateway.calls) == MAX_ATTEMPTS  # given up: no further attempt


def test_a_recovered_gateway_sends_the_retried_notice(isp, gateway):
    gateway.status = 500
    _channels(isp.tenant, gateway=gateway)
    _template(isp.tenant, Event.PAYMENT_RECEIVED, "sms", "Received.")
    notify.send(isp.subscriber, Event.PAYMENT_RECEIVED, {}, dedupe_key="p:4")
    message = OutboundMessage.objects.get(dedupe_key="p:4")
    deliver_pending()
    gateway.status = 200
    deliver_pending()
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")


def test_a_switched_off_channel_skips_the_notice_without_contacting_anyone(isp, smtp):
    _channels(isp.tenant)  # both channels off
    _template(isp.tenant, Event.RENEWED, "email", "Renewed.", subject="Renewed")
    notify.send(isp.subscriber, Event.RENEWED, {}, dedupe_key="r:2")
    message = OutboundMessage.objects.get(dedupe_key="r:2")
    assert deliver_pending()["subscriber notices"]["skipped"] == 1
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("skipped", "email is switched off")
    assert smtp.mails == []


def test_a_subscriber_without_a_mobile_number_is_skipped_not_retried(isp, gateway):
    Subscriber.objects.filter(pk=isp.subscriber.pk).update(mobile="")
    isp.subscriber.refresh_from_db()
    _channels(isp.tenant, gateway=gateway)
    _template(isp.tenant, Event.PAYMENT_RECEIVED, "sms", "Received.")
    notify.send(isp.subscriber, Event.PAYMENT_RECEIVED, {}, dedupe_key="p:5")
    message = OutboundMessage.objects.get(dedupe_key="p:5")
    deliver_pending()
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("skipped", "no mobile number")
    assert gateway.calls == []


def test_partner_low_wallet_notice_is_emailed_and_texted(isp, smtp, gateway):
    _channels(isp.tenant, smtp=smtp, gateway=gateway)
    partner = Partner.objects.create(organization=isp.orgs["lco1"], contact_email="lco@one.net",
                                     contact_phone="+919811100000")
    notices.queue(partner, notices.LOW_WALLET, {"balance": "90.00", "threshold": "500.00"},
                  dedupe_key="low:1")
    assert deliver_pending()["partner notices"]["sent"] == 2
    assert [m["to"] for m in smtp.mails] == [["lco@one.net"]]
    assert b"Your wallet balance 90.00 is below 500.00" in smtp.mails[0]["data"]
    assert parse_qs(gateway.calls[0][2].decode())["to"] == ["+919811100000"]
    assert set(PartnerNotice.objects.values_list("status", flat=True)) == {"sent"}


def test_support_notice_is_emailed_to_the_staff_member(isp, smtp):
    _channels(isp.tenant, smtp=smtp)
    staff = isp.users["isp_admin"]
    staff.email = "ops@alpha.example"
    staff.save(update_fields=["email"])
    notice = notify_staff(recipient=staff, event=SupportNotification.Event.RESOLUTION_BREACHED,
                          message="Ticket 7 is past its resolution time.",
                          organization=isp.orgs["root"])
    assert deliver_pending()["staff notices"]["sent"] == 1
    assert smtp.mails[0]["to"] == ["ops@alpha.example"]
    assert b"Resolution overdue" in smtp.mails[0]["data"]
    notice.refresh_from_db()
    assert notice.sent_at is not None and notice.attempts == 1


def test_fup_threshold_notice_uses_the_tenants_template_once_per_alert(isp):
    from django.utils import timezone

    _template(isp.tenant, Event.FUP_THRESHOLD, "sms",
              "{{ threshold }}% used: {{ used_gb }} of {{ quota_gb }} GB.")
    UsageAlert.objects.create(subscriber=isp.subscriber, organization=isp.orgs["lco1"],
                              cycle_start=timezone.now(), threshold=80, octets=858993459)
    for _ in range(2):  # a retransmitted accounting batch
        send_usage_alert(isp.subscriber.pk, 80, 858993459, 1073741824)
    (message,) = OutboundMessage.objects.filter(event=Event.FUP_THRESHOLD)
    assert (message.channel, message.recipient) == ("sms", "+919800012345")
    assert message.body == "80% used: 0.80 of 1.00 GB."


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_never_send_a_notice_twice(gateway):
    world = build_world()
    _channels(world.tenant, gateway=gateway)
    _template(world.tenant, Event.PAYMENT_RECEIVED, "sms", "Received {{ n }}.")
    for n in range(40):
        sub = Subscriber.objects.create(tenant=world.tenant, organization=world.orgs["lco1"],
                                        username=f"user{n}", name=f"User {n}",
                                        mobile=f"+91980000{n:04d}")
        notify.send(sub, Event.PAYMENT_RECEIVED, {"n": n}, dedupe_key=f"p:{n}")

    def worker(_):
        try:
            return deliver_pending(batch_size=5)["subscriber notices"]["sent"]
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        sent = sum(pool.map(worker, range(2)))
    assert sent == 40
    assert sorted(parse_qs(body.decode())["to"][0] for _, _, body, _ in gateway.calls) == sorted(
        f"+91980000{n:04d}" for n in range(40))
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}
