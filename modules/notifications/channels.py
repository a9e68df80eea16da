"""Email and SMS delivery through each tenant's own providers (Settings -> Notifications).

A channel that is switched off or not configured raises `ChannelOff` (the message is skipped,
not retried); a provider that fails raises `DeliveryError` (retried by the outbox).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from modules.settings_hub.models import NotificationSettings, NotificationTemplate

Channel = NotificationTemplate.Channel
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


class DeliveryError(Exception):
    """The provider refused or could not be reached; worth another attempt later."""


class ChannelOff(DeliveryError):
    """The tenant has this channel switched off or unconfigured, or the recipient has no address."""


def tenant_channels(tenant_id: int) -> NotificationSettings | None:
    return NotificationSettings.objects.filter(tenant_id=tenant_id).first()


def send_email(config: NotificationSettings | None, to: str, subject: str, body: str) -> None:
    if config is None or not config.email_enabled or not config.smtp_host:
        raise ChannelOff("email is switched off")
    if not to:
        raise ChannelOff("no email address")
    connection = get_connection(
        SMTP_BACKEND, host=config.smtp_host, port=config.smtp_port,
        username=config.smtp_username or None, password=config.smtp_password or None,
        use_tls=config.smtp_use_tls, timeout=settings.NOTIFICATION_TIMEOUT, fail_silently=False)
    try:
        EmailMessage(subject, body, config.email_from, [to], connection=connection).send()
    except (OSError, ValueError) as failure:  # smtplib errors are OSError subclasses
        raise DeliveryError(f"SMTP: {failure}") from failure


def sms_request(config: NotificationSettings, to: str, text: str) -> urllib.request.Request:
    """A URL with {to}/{text}/{sender} placeholders is called with GET, filled in; any other URL
    gets a form POST of to, text and sender. The API key goes in a bearer Authorization header."""
    headers = {"User-Agent": "isp-portal-notifications"}
    if config.sms_api_key:
        headers["Authorization"] = f"Bearer {config.sms_api_key}"
    url = config.sms_gateway_url
    if not url.startswith(("http://", "https://")):
        raise ChannelOff("the SMS gateway URL is not http(s)")
    if "{to}" in url or "{text}" in url:
        for key, value in (("{to}", to), ("{text}", text), ("{sender}", config.sms_sender_id)):
            url = url.replace(key, quote(value, safe=""))
        return urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) checked
    form = urlencode({"to": to, "text": text, "sender": config.sms_sender_id}).encode()
    return urllib.request.Request(url, data=form, headers=headers)  # noqa: S310 - checked


def send_sms(config: NotificationSettings | None, to: str, text: str) -> None:
    if config is None or not config.sms_enabled or not config.sms_gateway_url:
        raise ChannelOff("SMS is switched off")
    if not to:
        raise ChannelOff("no mobile number")
    request = sms_request(config, to, text)
    try:
        with urllib.request.urlopen(request, timeout=settings.NOTIFICATION_TIMEOUT):  # noqa: S310
            pass
    except urllib.error.HTTPError as refused:
        raise DeliveryError(f"SMS gateway answered {refused.code}") from refused
    except OSError as failure:
        raise DeliveryError(f"SMS gateway: {failure}") from failure


def deliver(config: NotificationSettings | None, channel: str, to: str, subject: str,
            body: str) -> None:
    if channel == Channel.EMAIL:
        send_email(config, to, subject, body)
    elif channel == Channel.SMS:
        send_sms(config, to, body)
    else:
        raise ChannelOff(f"unknown channel {channel!r}")
