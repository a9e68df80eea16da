"""Ticket attachments: screenshots, photos of equipment, PDFs and logs, within limits.

A file is accepted only when its extension is allowed *and* its first bytes match that type,
so a renamed executable or HTML page is refused. Five signatures do not justify a libmagic
dependency; text files must decode as UTF-8 and carry no markup.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from modules.support.models import Ticket, TicketAttachment, TicketEvent
from modules.support.services.common import AttachmentRefused, check_scope, record

# extension -> (content type, accepted leading bytes; None = UTF-8 text)
ALLOWED_TYPES: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    "webp": ("image/webp", (b"RIFF",)),
    "pdf": ("application/pdf", (b"%PDF-",)),
    "txt": ("text/plain", None),
    "log": ("text/plain", None),
    "csv": ("text/csv", None),
}


def max_bytes() -> int:
    return settings.SUPPORT_ATTACHMENT_MAX_BYTES


def validate_attachment(upload) -> tuple[str, str]:
    """(safe file name, content type) for an acceptable upload; AttachmentRefused otherwise."""
    name = os.path.basename(upload.name or "").strip() or "attachment"
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if upload.size > max_bytes():
        raise AttachmentRefused(
            f"{name} is {filesizeformat(upload.size)}; the limit is {filesizeformat(max_bytes())}."
        )
    if upload.size == 0:
        raise AttachmentRefused(f"{name} is empty.")
    if ext not in ALLOWED_TYPES:
        kinds = ", ".join(sorted(ALLOWED_TYPES))
        raise AttachmentRefused(f"{name}: files of this type are not accepted (allowed: {kinds}).")
    content_type, signatures = ALLOWED_TYPES[ext]
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    if signatures is None:
        if not _is_plain_text(head, truncated=upload.size > len(head)):
            raise AttachmentRefused(f"{name} is not a plain text file.")
    elif not head.startswith(signatures) or (ext == "webp" and head[8:12] != b"WEBP"):
        raise AttachmentRefused(f"{name} does not contain what its name says ({ext}).")
    return name[-200:], content_type


def _is_plain_text(head: bytes, *, truncated: bool) -> bool:
    # A multi-byte character cut at the end of the sample is still text.
    for cut in range(4 if truncated else 1):
        try:
            text = head[: len(head) - cut].decode("utf-8").lower()
        except UnicodeDecodeError:
            continue
        return "\x00" not in text and "<script" not in text and "<html" not in text
    return False


@transaction.atomic
def add_attachment(ticket: Ticket, *, actor, upload) -> TicketAttachment:
    check_scope(actor, ticket.organization)
    name, content_type = validate_attachment(upload)
    attachment = TicketAttachment(ticket=ticket, original_name=name, content_type=content_type,
                                  size=upload.size, uploaded_by=actor)
    attachment.file.save(name, upload, save=False)
    attachment.save()
    record(ticket, TicketEvent.Kind.ATTACHMENT, actor=actor, note=name)
    return attachment
