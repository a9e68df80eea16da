"""The network side of the ISP: NAS devices, address pools and what RADIUS records.

Sessions, the auth log and usage are high-volume, append-mostly tables. Each row carries the
organization it belongs to (the subscriber's, or the NAS owner's when the username is not a
subscriber), copied at write time, so scoping a list is one indexed column and never a join
or a per-row grant.
"""

from __future__ import annotations

import ipaddress

from django.contrib.postgres.indexes import BrinIndex
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from modules.core.models import Organization
from modules.subscribers.models import Subscriber


def _validate_source(value: str) -> None:
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as exc:
        raise ValidationError("Enter an IP address or a subnet such as 10.20.0.0/24.") from exc


class NasDevice(models.Model):
    """A BRAS or router that sends RADIUS requests; its secret is chosen by source address."""

    class Vendor(models.TextChoices):
        MIKROTIK = "mikrotik", "MikroTik"
        CISCO = "cisco", "Cisco"
        JUNIPER = "juniper", "Juniper"
        HUAWEI = "huawei", "Huawei"
        OTHER = "other", "Other"

    class RequireMA(models.TextChoices):
        YES = "yes", "Yes (recommended)"
        AUTO = "auto", "Auto: once the NAS has sent one"
        NO = "no", "No (legacy NAS)"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                     related_name="nas_devices")
    name = models.CharField(max_length=100)
    address = models.CharField(
        "source IP or subnet", max_length=43, unique=True, validators=[_validate_source],
        help_text="The address the NAS sends from (or a subnet of NASes sharing one secret).",
    )
    secret = models.CharField(max_length=128, help_text="The RADIUS shared secret.")
    vendor = models.CharField(max_length=10, choices=Vendor.choices, default=Vendor.MIKROTIK)
    nas_identifier = models.CharField("NAS-Identifier", max_length=64, blank=True)
    auth_port = models.PositiveIntegerField(default=1812)
    acct_port = models.PositiveIntegerField(default=1813)
    coa_port = models.PositiveIntegerField("CoA port", default=3799)
    require_message_authenticator = models.CharField(
        max_length=4, choices=RequireMA.choices, default=RequireMA.YES,
        help_text="Blast-RADIUS hardening: drop Access-Requests without Message-Authenticator.",
    )
    description = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_test_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_test_result = models.CharField(max_length=120, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "NAS device"
        verbose_name_plural = "NAS devices"
        permissions = [("test_nasdevice", "Can send a Status-Server test to a NAS")]

    def __str__(self):
        return f"{self.name} ({self.address})"

    def clean(self):
        if self.address:
            network = ipaddress.ip_network(self.address.strip(), strict=False)
            self.address = (str(network.network_address) if network.num_addresses == 1
                            else str(network))

    @property
    def host(self) -> str:
        """The address CoA/Disconnect and Status-Server go to (the subnet's first host)."""
        network = ipaddress.ip_network(self.address, strict=False)
        return str(network.network_address if network.num_addresses == 1 else next(network.hosts()))


class Ipv4Pool(models.Model):
    """Addresses the portal hands out as Framed-IP-Address; one lease row per usable address."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                     related_name="ipv4_pools")
    name = models.CharField(max_length=64, help_text="Matched against the plan's IP pool name.")
    ranges = models.TextField(
        help_text="One CIDR (10.64.0.0/22) or range (10.64.0.10-10.64.0.200) per line.")
    exclusions = models.TextField(
        blank=True, help_text="Reserved addresses, CIDRs or ranges, one per line (gateways).")
    nas_devices = models.ManyToManyField(NasDevice, blank=True, related_name="ipv4_pools",
                                         help_text="Empty: any NAS of the organization's subtree.")
    is_walled_garden = models.BooleanField(
        default=False, help_text="Used for expired or unpaid subscribers sent to the payment page.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "IPv4 pool"
        verbose_name_plural = "IPv4 pools"
        constraints = [models.UniqueConstraint(fields=["organization", "name"],
                                               name="ipv4pool_name_unique")]

    def __str__(self):
        return self.name

    def clean(self):
        from modules.networking.addressing import parse_ipv4_ranges

        try:
            addresses = parse_ipv4_ranges(self.ranges) - parse_ipv4_ranges(self.exclusions)
        except ValueError as exc:
            raise ValidationError({"ranges": str(exc)}) from exc
        if not addresses:
            raise ValidationError({"ranges": "The pool holds no usable address."})
        if len(addresses) > 262144:
            raise ValidationError({"ranges": "A pool may hold at most 262,144 addresses (/14)."})


class Ipv4Lease(models.Model):
    """One usable address of a pool; `subscriber` set means leased (sticky on re-login)."""

    pool = models.ForeignKey(Ipv4Pool, on_delete=models.CASCADE, related_name="leases")
    address = models.GenericIPAddressField(protocol="IPv4")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    last_subscriber = models.ForeignKey(Subscriber, on_delete=models.SET_NULL, null=True,
                                        blank=True, related_name="+")
    nas = models.ForeignKey(NasDevice, on_delete=models.SET_NULL, null=True, blank=True,
                            related_name="+")
    session_unique_id = models.CharField(max_length=32, blank=True)
    leased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pool", "address"]
        constraints = [models.UniqueConstraint(fields=["pool", "address"],
                                               name="ipv4lease_address_unique")]
        indexes = [
            models.Index(fields=["pool", "address"], condition=Q(subscriber__isnull=True),
                         name="ipv4lease_free_idx"),
            models.Index(fields=["subscriber"], condition=Q(subscriber__isnull=False),
                         name="ipv4lease_sub_idx"),
        ]

    def __str__(self):
        return self.address


class Ipv6Pool(models.Model):
    """A prefix cut into delegated prefixes (e.g. a /40 handing out /56 per subscriber)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                     related_name="ipv6_pools")
    name = models.CharField(max_length=64)
    prefix = models.CharField(max_length=43, help_text="e.g. 2001:db8:1000::/40")
    delegated_length = models.PositiveSmallIntegerField(default=56)
    nas_devices = models.ManyToManyField(NasDevice, blank=True, related_name="ipv6_pools")
    next_index = models.BigIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "IPv6 pool"
        verbose_name_plural = "IPv6 pools"
        constraints = [models.UniqueConstraint(fields=["organization", "name"],
                                               name="ipv6pool_name_unique")]

    def __str__(self):
        return f"{self.name} ({self.prefix})"

    @property
    def network(self) -> ipaddress.IPv6Network:
        return ipaddress.IPv6Network(self.prefix, strict=False)

    @property
    def capacity(self) -> int:
        return 2 ** max(0, self.delegated_length - self.network.prefixlen)

    def clean(self):
        try:
            network = ipaddress.IPv6Network(self.prefix.strip(), strict=False)
        except ValueError as exc:
            raise ValidationError(
                {"prefix": "Enter an IPv6 prefix such as 2001:db8::/40."}) from exc
        if not network.prefixlen <= self.delegated_length <= 128:
            raise ValidationError(
                {"delegated_length": "Must be between the pool's length and 128."})
        self.prefix = str(network)


class Ipv6Lease(models.Model):
    pool = models.ForeignKey(Ipv6Pool, on_delete=models.CASCADE, related_name="leases")
    index = models.BigIntegerField()
    prefix = models.CharField(max_length=43)
    subscriber = models.ForeignKey(Subscriber, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    last_subscriber = models.ForeignKey(Subscriber, on_delete=models.SET_NULL, null=True,
                                        blank=True, related_name="+")
    leased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pool", "index"]
        constraints = [models.UniqueConstraint(fields=["pool", "index"],
                                               name="ipv6lease_index_unique")]
        indexes = [models.Index(fields=["subscriber"], condition=Q(subscriber__isnull=False),
                                name="ipv6lease_sub_idx")]

    def __str__(self):
        return self.prefix


class RadiusSession(models.Model):
    """One NAS session, built from accounting (Start / Interim-Update / Stop).

    `unique_id` is FreeRADIUS's acct_unique (MD5 of user, session id and NAS identity), so
    retransmits and repeated Starts land on the same row. Counters are absolute 64-bit values.
    It is unique together with `stopped_at` (NULLs equal): one open row per session, and a
    key the table can keep once it is partitioned by month of `stopped_at` (docs §9.5).
    """

    unique_id = models.CharField(max_length=32)
    session_id = models.CharField("Acct-Session-Id", max_length=64)
    username = models.CharField(max_length=64)
    # No single-column indexes where a composite one leads with the column (session_sub_idx,
    # session_org_idx): every Interim-Update rewrites the row and pays for each index.
    subscriber = models.ForeignKey(Subscriber, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="radius_sessions", db_constraint=False,
                                   db_index=False)
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, null=True,
                                     blank=True, related_name="+", db_constraint=False,
                                     db_index=False)
    nas = models.ForeignKey(NasDevice, on_delete=models.DO_NOTHING, null=True, blank=True,
                            related_name="sessions", db_constraint=False)
    nas_ip = models.GenericIPAddressField("NAS IP", null=True, blank=True)
    nas_port_id = models.CharField(max_length=64, blank=True)
    calling_station_id = models.CharField(max_length=64, blank=True)
    called_station_id = models.CharField(max_length=64, blank=True)
    framed_ip = models.GenericIPAddressField("framed IP", null=True, blank=True)
    delegated_ipv6_prefix = models.CharField(max_length=43, blank=True)
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    session_time = models.PositiveIntegerField(default=0)
    input_octets = models.BigIntegerField(default=0, help_text="From the subscriber (upload).")
    output_octets = models.BigIntegerField(default=0, help_text="To the subscriber (download).")
    terminate_cause = models.CharField(max_length=32, blank=True)
    throttled = models.BooleanField(default=False)
    last_coa_at = models.DateTimeField("last CoA/Disconnect", null=True, blank=True)
    last_coa_kind = models.CharField(max_length=12, blank=True)
    last_coa_result = models.CharField(max_length=12, blank=True)
    last_coa_error = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "session"
        verbose_name_plural = "sessions"
        permissions = [("disconnect_radiussession", "Can disconnect a live session")]
        constraints = [models.UniqueConstraint(fields=["unique_id", "stopped_at"],
                                               nulls_distinct=False, name="session_unique_stop")]
        indexes = [
            models.Index(fields=["-started_at"], name="session_started_idx"),
            models.Index(fields=["subscriber"], condition=Q(stopped_at__isnull=True),
                         name="session_live_sub_idx"),
            models.Index(fields=["nas_ip"], condition=Q(stopped_at__isnull=True),
                         name="session_live_nas_idx"),
            models.Index(fields=["subscriber", "-started_at"], name="session_sub_idx"),
            models.Index(fields=["username"], name="session_username_idx"),
            models.Index(fields=["framed_ip"], name="session_framed_ip_idx"),
            models.Index(fields=["organization", "-started_at"], name="session_org_idx"),
        ]

    def __str__(self):
        return f"{self.username} @ {self.nas_ip or '?'} ({self.session_id})"

    @property
    def is_online(self) -> bool:
        return self.stopped_at is None


class AuthLog(models.Model):
    """Every Access-Request decision. Written in batches by the RADIUS server (COPY)."""

    class Outcome(models.TextChoices):
        ACCEPT = "accept", "Accept"
        REJECT = "reject", "Reject"

    created_at = models.DateTimeField()
    username = models.CharField(max_length=64)
    # Every attempt is a row (tens of thousands a second at peak): only the indexes the log is
    # read by (time, username, organization scope) are paid for on each insert.
    subscriber = models.ForeignKey(Subscriber, on_delete=models.DO_NOTHING, null=True, blank=True,
                                   related_name="+", db_constraint=False, db_index=False)
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, null=True,
                                     blank=True, related_name="+", db_constraint=False,
                                     db_index=False)
    nas = models.ForeignKey(NasDevice, on_delete=models.DO_NOTHING, null=True, blank=True,
                            related_name="+", db_constraint=False, db_index=False)
    nas_ip = models.GenericIPAddressField("NAS IP", null=True, blank=True)
    calling_station_id = models.CharField(max_length=64, blank=True)
    auth_method = models.CharField(max_length=10, blank=True)
    outcome = models.CharField(max_length=6, choices=Outcome.choices)
    reason = models.CharField(max_length=48, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "auth log entry"
        verbose_name_plural = "auth log entries"
        indexes = [
            BrinIndex(fields=["created_at"], name="authlog_created_brin"),
            models.Index(fields=["username"], name="authlog_username_idx"),
            models.Index(fields=["organization", "-id"], name="authlog_org_idx"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.username} {self.outcome}"


class DailyUsage(models.Model):
    """Octets per subscriber per day (the tenant's day), added incrementally from accounting."""

    # Indexed through dailyusage_unique (subscriber, day) and dailyusage_org_idx.
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="daily_usage",
                                   db_index=False)
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+",
                                     db_constraint=False, db_index=False)
    day = models.DateField()
    input_octets = models.BigIntegerField(default=0)
    output_octets = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-day", "subscriber"]
        verbose_name = "daily usage"
        verbose_name_plural = "daily usage"
        constraints = [models.UniqueConstraint(fields=["subscriber", "day"],
                                               name="dailyusage_unique")]
        indexes = [models.Index(fields=["organization", "-day"], name="dailyusage_org_idx")]

    def __str__(self):
        return f"{self.subscriber} {self.day}"

    @property
    def total_octets(self) -> int:
        return self.input_octets + self.output_octets


class CycleUsage(models.Model):
    """Fair-usage counter for one subscriber and one quota cycle, kept up to date by accounting.

    `cycle_start` is the first day of the calendar month or the start of the validity period
    (the plan's quota reset); top-ups add `extra_quota_octets`, a booster sets `boosted`.
    """

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="cycle_usage")
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+",
                                     db_constraint=False)
    cycle_start = models.DateTimeField()
    octets = models.BigIntegerField(default=0)
    quota_octets = models.BigIntegerField(null=True, blank=True)
    extra_quota_octets = models.BigIntegerField(default=0)
    boosted = models.BooleanField(default=False)
    exhausted = models.BooleanField(default=False)
    alerts_sent = models.PositiveSmallIntegerField(default=0,
                                                   help_text="Highest alert sent: 0, 80, 90, 100.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-cycle_start"]
        verbose_name = "FUP cycle usage"
        verbose_name_plural = "FUP cycle usage"
        constraints = [models.UniqueConstraint(fields=["subscriber", "cycle_start"],
                                               name="cycleusage_unique")]

    def __str__(self):
        return f"{self.subscriber} since {self.cycle_start:%Y-%m-%d}"

    @property
    def limit_octets(self) -> int | None:
        return None if self.quota_octets is None else self.quota_octets + self.extra_quota_octets

    @property
    def percent(self) -> float | None:
        limit = self.limit_octets
        return None if not limit else round(100 * self.octets / limit, 1)


class UsageAlert(models.Model):
    """An 80/90/100 % quota notice, at most once per subscriber, cycle and threshold."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE,
                                   related_name="usage_alerts")
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+",
                                     db_constraint=False)
    cycle_start = models.DateTimeField()
    threshold = models.PositiveSmallIntegerField()
    octets = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["subscriber", "cycle_start", "threshold"],
                                               name="usagealert_unique")]

    def __str__(self):
        return f"{self.subscriber} {self.threshold} %"
