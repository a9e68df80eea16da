"""Attachments: accepted types within the size limit; everything else refused with a reason."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from modules.support import services
from modules.support.models import TicketAttachment

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


@pytest.fixture
def ticket(world, subscriber):
    return services.open_ticket(actor=world.users["isp_admin"], subscriber=subscriber,
                                summary="Speed test results attached")


def test_a_screenshot_and_a_pdf_are_accepted(world, ticket):
    admin = world.users["isp_admin"]
    png = services.add_attachment(ticket, actor=admin,
                                  upload=SimpleUploadedFile("speedtest.png", PNG))
    pdf = services.add_attachment(ticket, actor=admin, upload=SimpleUploadedFile("bill.pdf", PDF))
    assert (png.content_type, png.size) == ("image/png", len(PNG))
    assert pdf.content_type == "application/pdf"
    assert ticket.events.filter(kind="attachment").count() == 2


def test_a_file_over_the_limit_is_refused(world, ticket, settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 1024
    upload = SimpleUploadedFile("router-log.txt", b"a" * 1025)
    with pytest.raises(services.AttachmentRefused, match=r"limit is 1\.0"):
        services.add_attachment(ticket, actor=world.users["isp_admin"], upload=upload)
    assert not TicketAttachment.objects.exists()


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("setup.exe", b"MZ\x90\x00", "not accepted"),
    ("invoice.html", b"<html></html>", "not accepted"),
    ("photo.png", b"MZ\x90\x00 renamed program", "does not contain"),
    ("notes.txt", b"<script>alert(1)</script>", "not a plain text"),
    ("notes.txt", b"\xff\xfe\x00\x00binary", "not a plain text"),
    ("empty.pdf", b"", "empty"),
])
def test_disallowed_or_disguised_files_are_refused(world, ticket, name, content, reason):
    with pytest.raises(services.AttachmentRefused, match=reason):
        services.add_attachment(ticket, actor=world.users["isp_admin"],
                                upload=SimpleUploadedFile(name, content))


def test_the_admin_upload_shows_the_refusal_on_the_form(client, world, ticket):
    client.force_login(world.users["isp_admin"])
    url = reverse("admin:support_ticket_change", args=[ticket.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = {
        "category": "", "priority": "normal", "summary": ticket.summary, "description": "",
        "attachments-TOTAL_FORMS": "1", "attachments-INITIAL_FORMS": "0",
        "attachments-MIN_NUM_FORMS": "0", "attachments-MAX_NUM_FORMS": "1000",
        "attachments-0-file": SimpleUploadedFile("setup.exe", b"MZ\x90\x00"),
        "attachments-0-ticket": str(ticket.pk),
    }
    for prefix in ("comments", "events", "visits"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0",
                     f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"})
    response = client.post(url, data)
    assert response.status_code == 200
    assert b"files of this type are not accepted" in response.content
    assert not TicketAttachment.objects.exists()

    data["attachments-0-file"] = SimpleUploadedFile("speedtest.png", PNG)
    assert client.post(url, data).status_code == 302
    attachment = TicketAttachment.objects.get()
    download = client.get(reverse("support:attachment", args=[attachment.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG


def test_an_attachment_outside_the_users_scope_is_not_found(client, world, ticket):
    attachment = services.add_attachment(ticket, actor=world.users["isp_admin"],
                                         upload=SimpleUploadedFile("a.png", PNG))
    client.force_login(world.users["partner"])
    assert client.get(reverse("support:attachment", args=[attachment.pk])).status_code == 404
