"""Reports: generated report files (background exports) and the daily roll-ups reports read.

A `Report` row is one requested CSV/XLSX file: who asked, which report, with which filters,
how far the background job got and the file it wrote. The roll-up tables hold per-day sums
recomputed by an idempotent periodic job, so money and tax reports over months read a few
thousand rows instead of millions of payments and invoice lines.
"""

from django.conf import settings
from django.db import models

from modules.core.models import Organization, Tenant

MONEY = {"max_digits": 16, "decimal_places": 2}


class Report(models.Model):
    """A generated report file; `view_report` is the permission to run and export reports."""

    read_from_primary = True  # a job's progress is read right after the worker writes it

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+",
        help_text="The requester's organization when the report was asked for.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                     related_name="+")
    report_key = models.CharField("report", max_length=40)
    title = models.CharField(max_length=120)
    params = models.JSONField(default=dict, blank=True)
    file_format = models.CharField("format", max_length=4, choices=Format.choices,
                                   default=Format.CSV)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True, max_length=255)
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "report"
        verbose_name_plural = "reports"
        default_permissions = ("view", "delete")
        indexes = [
            models.Index(fields=["requested_by", "-id"], name="report_requester_idx"),
            models.Index(fields=["organization", "-id"], name="report_org_idx"),
        ]

    def __str__(self):
        return f"{self.title} ({self.get_file_format_display()}, {self.created_at:%d %b %Y %H:%M})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0


class DailyCollection(models.Model):
    """Money received per organization, day (tenant's time zone), mode and operator."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+",
                                     db_constraint=False)
    day = models.DateField()
    method = models.CharField(max_length=12)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING,
                                 null=True, blank=True, related_name="+", db_constraint=False)
    payments = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(**MONEY, default=0)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "day"], name="dailycoll_org_day_idx"),
            models.Index(fields=["tenant", "day"], name="dailycoll_tenant_day_idx"),
        ]

    def __str__(self):
        return f"{self.day} {self.method} {self.amount}"


class DailyRevenue(models.Model):
    """Issued invoice lines per organization, issue day, plan, HSN/SAC and tax rate.

    Tax components are pivoted (CGST, SGST, IGST, other), the figures a GST return needs.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+",
                                     db_constraint=False)
    day = models.DateField()
    plan = models.ForeignKey("plans.Plan", on_delete=models.DO_NOTHING, null=True, blank=True,
                             related_name="+", db_constraint=False)
    hsn_sac = models.CharField(max_length=12, blank=True)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2)
    is_interstate = models.BooleanField(default=False)
    invoices = models.PositiveIntegerField(default=0)
    taxable_value = models.DecimalField(**MONEY, default=0)
    cgst = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    sgst = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    igst = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    other_tax = models.DecimalField(max_digits=18, decimal_places=4, default=0)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "day"], name="dailyrev_org_day_idx"),
            models.Index(fields=["tenant", "day"], name="dailyrev_tenant_day_idx"),
        ]

    def __str__(self):
        return f"{self.day} {self.hsn_sac} {self.tax_rate} %"


class RollupRun(models.Model):
    """When each roll-up was last recomputed, shown beside the figures it feeds."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=20)
    finished_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="rollup_run_unique")]

    def __str__(self):
        return f"{self.name} at {self.finished_at:%Y-%m-%d %H:%M}"


class SubscriberTally(models.Model):
    """Subscribers per organization and status, counted by the roll-up job.

    The general dashboard reads these few rows instead of counting a million subscribers on
    every page view; the figures are as of `counted_at` (shown beside them).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+",
                                     db_constraint=False)
    status = models.CharField(max_length=12)
    subscribers = models.PositiveIntegerField(default=0)
    new_today = models.PositiveIntegerField(default=0)
    new_month = models.PositiveIntegerField(default=0)
    expiring_7 = models.PositiveIntegerField(
        default=0, help_text="Active or limited, validity ending within 7 days of counted_at.")
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "status"],
                                               name="subscribertally_unique")]
        indexes = [models.Index(fields=["tenant"], name="subscribertally_tenant_idx")]

    def __str__(self):
        return f"{self.organization_id} {self.status}: {self.subscribers}"


class ReceivableDay(models.Model):
    """Open invoices (issued or part-paid) per organization and due day, counted by the roll-up
    job: aging buckets add up a few thousand of these instead of every open invoice."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+",
                                     db_constraint=False)
    due_date = models.DateField(null=True, blank=True)
    invoices = models.PositiveIntegerField(default=0)
    amount_due = models.DecimalField(**MONEY, default=0)
    counted_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "due_date"], name="receivable_org_due_idx"),
            models.Index(fields=["tenant"], name="receivable_tenant_idx"),
        ]

    def __str__(self):
        return f"{self.organization_id} due {self.due_date}: {self.amount_due}"


class OnlineTally(models.Model):
    """Sessions online per organization and NAS when the roll-up job last counted them."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+",
                                     db_constraint=False)
    nas = models.ForeignKey("networking.NasDevice", on_delete=models.DO_NOTHING, null=True,
                            blank=True, related_name="+", db_constraint=False)
    online = models.PositiveIntegerField(default=0)
    counted_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "nas"], name="onlinetally_org_nas_idx"),
            models.Index(fields=["tenant"], name="onlinetally_tenant_idx"),
        ]

    def __str__(self):
        return f"{self.organization_id} {self.nas_id}: {self.online}"


class SessionHour(models.Model):
    """Per organization and hour of the last 24: sessions started, and sessions online at some
    moment of the hour. Recomputed by the roll-up job for the dashboard's session chart."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+",
                                     db_constraint=False)
    hour = models.DateTimeField()
    started = models.PositiveIntegerField(default=0)
    online = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "hour"], name="sessionhour_org_hour_idx"),
            models.Index(fields=["tenant", "hour"], name="sessionhour_tenant_hour_idx"),
        ]

    def __str__(self):
        return f"{self.organization_id} {self.hour:%Y-%m-%d %H}: {self.online}"


class SessionDay(models.Model):
    """Sessions started per organization, day (tenant's time zone) and NAS, with the distinct
    subscribers, online time and data they carried: the sessions-per-NAS report over a week
    reads these instead of grouping every session of the week."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+",
                                     db_constraint=False)
    day = models.DateField()
    nas = models.ForeignKey("networking.NasDevice", on_delete=models.DO_NOTHING, null=True,
                            blank=True, related_name="+", db_constraint=False)
    nas_ip = models.GenericIPAddressField(null=True, blank=True)
    sessions = models.PositiveIntegerField(default=0)
    subscribers = models.PositiveIntegerField(default=0)
    seconds = models.PositiveBigIntegerField(default=0)
    download = models.PositiveBigIntegerField(default=0)
    upload = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "day"], name="sessionday_org_day_idx"),
            models.Index(fields=["tenant", "day"], name="sessionday_tenant_day_idx"),
        ]

    def __str__(self):
        return f"{self.day} {self.nas_ip}: {self.sessions}"


class PlanChange(models.Model):
    """A subscriber's move between broadband plans, recorded from the subscriber events.

    The subscriber audit keeps the action only; the plans and prices at the time are what an
    upgrade/downgrade report needs, so they are copied here when the change happens.
    """

    class Direction(models.TextChoices):
        UPGRADE = "upgrade", "Upgrade"
        DOWNGRADE = "downgrade", "Downgrade"
        SIDEWAYS = "sideways", "Same price"

    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+",
                                     db_constraint=False)
    subscriber = models.ForeignKey("subscribers.Subscriber", on_delete=models.CASCADE,
                                   related_name="+")
    old_plan = models.ForeignKey("plans.Plan", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    new_plan = models.ForeignKey("plans.Plan", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    old_price = models.DecimalField(**MONEY, default=0)
    new_price = models.DecimalField(**MONEY, default=0)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "created_at"], name="planchange_org_idx")]

    def __str__(self):
        return f"{self.subscriber_id}: {self.old_plan_id} → {self.new_plan_id}"


class PoolUsageDay(models.Model):
    """A daily snapshot of an IPv4 pool's size and leased addresses (utilization history)."""

    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="+",
                                     db_constraint=False)
    pool = models.ForeignKey("networking.Ipv4Pool", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    size = models.PositiveIntegerField(default=0)
    leased = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pool", "day"], name="poolusage_unique")]
        indexes = [models.Index(fields=["organization", "day"], name="poolusage_org_day_idx")]

    def __str__(self):
        return f"{self.pool_id} {self.day}: {self.leased}/{self.size}"
