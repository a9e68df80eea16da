"""Subscribers: the ISP's customers, their service identity, state and documents."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper

from modules.core.models import Organization, Tenant
from modules.plans.models import Plan
from modules.subscribers.crypto import decrypt_password, encrypt_password


class Subscriber(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        ACTIVE = "active", "Active"
        LIMITED = "limited", "Limited"
        SUSPENDED = "suspended", "Suspended"
        EXPIRED = "expired", "Expired"
        TERMINATED = "terminated", "Terminated"

    class ConnectionType(models.TextChoices):
        PPPOE = "pppoe", "PPPoE"
        IPOE = "ipoe", "IPoE"
        HOTSPOT = "hotspot", "Hotspot"

    # Both foreign keys are served by composite indexes that lead with them (the username
    # constraint, sub_org_status_idx): no single-column index to maintain on every insert.
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+",
                               db_index=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                     related_name="subscribers", db_index=False)
    # Identity
    username = models.CharField(max_length=64, help_text="The RADIUS login.")
    password_encrypted = models.TextField(editable=False, default="")
    name = models.CharField(max_length=150)
    mobile = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    area = models.CharField("zone / area", max_length=80, blank=True)
    city = models.CharField(max_length=80, blank=True)
    state = models.CharField("billing state", max_length=80, blank=True)
    pincode = models.CharField(max_length=10, blank=True)
    tax_number = models.CharField("GSTIN", max_length=15, blank=True)
    # Service
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="subscribers")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    activated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    auto_renew = models.BooleanField(default=True)
    # Connection
    connection_type = models.CharField(max_length=10, choices=ConnectionType.choices,
                                       default=ConnectionType.PPPOE)
    nas_ip = models.GenericIPAddressField(
        "lock to NAS", null=True, blank=True, help_text="Only this NAS may authenticate the user."
    )
    mac_address = models.CharField("MAC address", max_length=17, blank=True)
    bind_mac_on_first_login = models.BooleanField(default=False)
    static_ipv4 = models.GenericIPAddressField("static IPv4", protocol="IPv4", null=True,
                                               blank=True)
    ipv6_prefix = models.CharField("delegated IPv6 prefix", max_length=43, blank=True)
    ip_pool_name = models.CharField(
        "IP pool", max_length=64, blank=True, default="", db_default="",
        help_text="Address pool for this subscriber: a pool of Networking or one defined on the "
        "NAS. Empty: the plan's pool. A static IPv4 address wins over both.")
    simultaneous_use = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty: the plan's limit."
    )
    cpe = models.CharField("CPE", max_length=120, blank=True)
    speed_override_down_kbps = models.PositiveIntegerField(null=True, blank=True)
    speed_override_up_kbps = models.PositiveIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "username"],
                                    name="subscriber_username_unique_in_tenant"),
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="sub_org_status_idx"),
            models.Index(fields=["status", "expires_at"], name="sub_status_expiry_idx"),
            models.Index(fields=["expires_at"], name="sub_expiry_idx"),
            # Trigram indexes on UPPER(username) and UPPER(name) are created by the migrations
            # where pg_trgm is available (modules/core/migration_ops.py).
            models.Index(fields=["mobile"], name="sub_mobile_idx"),
            models.Index(fields=["mac_address"], name="sub_mac_idx"),
            # Lists at a million rows: every list query leads with tenant_id (see
            # selectors.visible_to), then walks the index of its sort order. The included
            # columns let the quick filters (status, expiry, organization, plan) be checked in
            # the index, so a page or a deep page is an index-only walk.
            models.Index(fields=["tenant", "-created_at", "-id"], name="sub_tenant_created_idx",
                         include=["status", "expires_at", "organization", "plan"]),
            models.Index(fields=["tenant", "expires_at", "id"], name="sub_tenant_expiry_idx",
                         include=["status", "organization", "plan"]),
            models.Index(fields=["tenant", "username", "id"], name="sub_tenant_username_idx"),
            models.Index(Upper("email"), name="sub_email_upper_idx"),
            models.Index(fields=["static_ipv4"], name="sub_static_ip_idx"),
            models.Index(fields=["nas_ip"], name="sub_nas_idx"),
            models.Index(Upper("area"), name="sub_area_upper_idx"),
        ]
        permissions = [
            ("reveal_password", "Can reveal a subscriber's password"),
            ("import_subscriber", "Can import subscribers"),
            ("export_subscriber", "Can export subscribers"),
        ]

    def __str__(self):
        return self.username

    def set_password(self, cleartext: str) -> None:
        self.password_encrypted = encrypt_password(cleartext)

    def get_password(self) -> str:
        return decrypt_password(self.password_encrypted)

    @property
    def effective_simultaneous_use(self) -> int:
        if self.simultaneous_use:
            return self.simultaneous_use
        return self.plan.simultaneous_use if self.plan_id else 1


class StatusChange(models.Model):
    """The audit of every lifecycle transition: who, when, why."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE,
                                   related_name="status_changes")
    from_status = models.CharField(max_length=12, choices=Subscriber.Status.choices)
    to_status = models.CharField(max_length=12, choices=Subscriber.Status.choices)
    action = models.CharField(max_length=40)
    reason = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subscriber", "-created_at"], name="statuschange_sub_idx")]

    def __str__(self):
        return f"{self.subscriber}: {self.from_status} → {self.to_status}"


class KycDocument(models.Model):
    class DocType(models.TextChoices):
        AADHAAR = "aadhaar", "Aadhaar"
        PAN = "pan", "PAN"
        PASSPORT = "passport", "Passport"
        VOTER_ID = "voter_id", "Voter ID"
        DRIVING_LICENCE = "driving_licence", "Driving licence"
        ADDRESS_PROOF = "address_proof", "Address proof"
        PHOTO = "photo", "Photo"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        VERIFIED = "verified", "Verified"
        REJECTED = "rejected", "Rejected"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE,
                                   related_name="documents")
    doc_type = models.CharField(max_length=20, choices=DocType.choices)
    number = models.CharField(max_length=40, blank=True)
    file = models.FileField(upload_to="kyc/%Y/%m/", blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    note = models.CharField(max_length=255, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = "KYC document"

    def __str__(self):
        return f"{self.get_doc_type_display()} of {self.subscriber}"


class SubscriberAddon(models.Model):
    """A top-up, booster, add-on or OTT item bought on top of the base plan, with its validity."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="addons")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Plan.Type.choices)
    quota_mb = models.PositiveBigIntegerField("added data (MB)", null=True, blank=True)
    download_kbps = models.PositiveIntegerField(null=True, blank=True)
    upload_kbps = models.PositiveIntegerField(null=True, blank=True)
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "subscriber add-on"
        indexes = [models.Index(fields=["subscriber", "expires_at"], name="addon_sub_expiry_idx")]

    def __str__(self):
        return f"{self.plan} for {self.subscriber}"
