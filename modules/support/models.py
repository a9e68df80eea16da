"""Support: tickets with SLA clocks, their conversation and history, and field visits.

A ticket belongs to an organization node (its subscriber's, else the opener's), so partners
see their subtree's tickets through the ordinary scope rule. SLA settings (policies, business
hours, holidays, categories) are tenant-level. Writes go through `services.py`.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from modules.core.models import Organization, Role, Tenant
from modules.notifications.models import DeliveryState
from modules.subscribers.models import Subscriber


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TicketCategory(models.Model):
    """What the ticket is about (no connectivity, slow speed, billing, relocation, ...)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    needs_field_visit = models.BooleanField(
        default=False, help_text="Hint for agents: this kind of issue is usually fixed on site."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "ticket categories"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="ticket_category_unique"),
        ]

    def __str__(self):
        return self.name


class SupportTeam(models.Model):
    """A group of employees a ticket can be assigned to (NOC desk, Field team Pune, ...)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=80)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="support_team_unique"),
        ]

    def __str__(self):
        return self.name


class SlaPolicy(models.Model):
    """Response and resolution targets for a priority, optionally narrowed to one category.

    The most specific active policy wins: (priority, category) before (priority, any category).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    priority = models.CharField(max_length=10, choices=Priority.choices)
    category = models.ForeignKey(TicketCategory, on_delete=models.CASCADE, null=True, blank=True,
                                 help_text="Empty: every category without its own policy.")
    first_response_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    resolution_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    use_business_hours = models.BooleanField(
        default=True, help_text="Count only business hours, skipping holidays."
    )
    pause_while_waiting = models.BooleanField(
        default=True, help_text="Stop the resolution clock while the ticket waits on a blocker."
    )
    at_risk_percent = models.PositiveSmallIntegerField(
        default=80, validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text="Flag the ticket as at risk once this share of the resolution time is used.",
    )
    escalation_role = models.ForeignKey(
        Role, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="Users with this role (and scope over the ticket) are told of breaches.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "priority", "category"],
                                    name="sla_policy_unique_with_category"),
            models.UniqueConstraint(fields=["tenant", "priority"], condition=Q(category=None),
                                    name="sla_policy_unique_any_category"),
        ]

    def __str__(self):
        return self.name


class BusinessHours(models.Model):
    """One working interval of a weekday, in the tenant's time zone (several per day allowed)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens_at"]
        verbose_name_plural = "business hours"
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=models.F("opens_at")),
                                   name="business_hours_closes_after_opening"),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class Holiday(models.Model):
    """A day without business hours (SLA clocks on business time skip it)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "date"], name="holiday_unique_date"),
        ]

    def __str__(self):
        return f"{self.name} ({self.date:%d %b %Y})"


class Ticket(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        WAITING = "waiting", "Waiting"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Channel(models.TextChoices):
        PORTAL = "portal", "Portal (staff)"
        SELFCARE = "selfcare", "Self-care"
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="tickets")
    customer_name = models.CharField(max_length=150, blank=True,
                                     help_text="For callers who are not (yet) subscribers.")
    customer_phone = models.CharField(max_length=20, blank=True)
    customer_email = models.EmailField(blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.PORTAL)
    category = models.ForeignKey(TicketCategory, on_delete=models.PROTECT, null=True, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    summary = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    blocker = models.CharField(max_length=255, blank=True,
                               help_text="What the ticket waits on (set while Waiting).")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                 blank=True, related_name="assigned_tickets")
    team = models.ForeignKey(SupportTeam, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="tickets")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # SLA clock (computed by services.apply_sla; flags set by the breach check).
    sla_policy = models.ForeignKey(SlaPolicy, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    sla_started_at = models.DateTimeField(null=True, blank=True,
                                          help_text="Opened, or last reopened.")
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    at_risk_from = models.DateTimeField(null=True, blank=True)
    paused_since = models.DateTimeField(null=True, blank=True)
    paused_minutes = models.PositiveIntegerField(default=0)
    at_risk_flagged_at = models.DateTimeField(null=True, blank=True)
    response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "status"], name="ticket_org_status_idx"),
            models.Index(fields=["subscriber", "-created_at"], name="ticket_subscriber_idx"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_idx"),
            models.Index(fields=["resolution_due_at"], name="ticket_open_due_idx",
                         condition=Q(resolved_at=None, resolution_breached_at=None)),
            models.Index(fields=["first_response_due_at"], name="ticket_response_due_idx",
                         condition=Q(first_responded_at=None, response_breached_at=None)),
        ]
        permissions = [("assign_ticket", "Can assign tickets")]

    def __str__(self):
        return f"{self.reference} {self.summary}"

    @property
    def reference(self) -> str:
        return f"T-{self.pk:06d}" if self.pk else "T-new"

    @property
    def customer(self) -> str:
        if self.subscriber_id:
            return f"{self.subscriber.name} ({self.subscriber.username})"
        return self.customer_name


class TicketComment(models.Model):
    """A customer-visible reply or an internal note (never shown in self-care)."""

    class Visibility(models.TextChoices):
        REPLY = "reply", "Reply to customer"
        INTERNAL = "internal", "Internal note"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    visibility = models.CharField(max_length=10, choices=Visibility.choices,
                                  default=Visibility.INTERNAL)
    body = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                               blank=True, related_name="+")
    from_customer = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticket_comment_idx")]

    def __str__(self):
        return f"{self.get_visibility_display()} on {self.ticket.reference}"


def attachment_path(instance, filename):
    return f"tickets/{instance.ticket_id}/{filename}"


class TicketAttachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class TicketEvent(models.Model):
    """The ticket's history: every status change, assignment, comment, SLA flag and visit."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        STATUS = "status", "Status changed"
        ASSIGNED = "assigned", "Assigned"
        COMMENT = "comment", "Comment"
        ATTACHMENT = "attachment", "Attachment"
        UPDATED = "updated", "Details changed"
        AT_RISK = "at_risk", "SLA at risk"
        BREACHED = "breached", "SLA breached"
        VISIT = "visit", "Field visit"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    from_status = models.CharField(max_length=12, choices=Ticket.Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Ticket.Status.choices, blank=True)
    note = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticket_event_idx")]

    def __str__(self):
        return f"{self.ticket.reference}: {self.get_kind_display()}"


class SupportNotification(DeliveryState):
    """Outbox of support notices (assignments, SLA risk and breach) for a portal user.

    Delivery by email/SMS reads this table; the row is the durable record that the notice was
    due, so a repeated breach check cannot notify twice.
    """

    class Event(models.TextChoices):
        ASSIGNED = "assigned", "Ticket assigned"
        AT_RISK = "at_risk", "SLA at risk"
        RESPONSE_BREACHED = "response_breached", "First response overdue"
        RESOLUTION_BREACHED = "resolution_breached", "Resolution overdue"
        VISIT_ASSIGNED = "visit_assigned", "Field visit assigned"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, null=True, blank=True,
                               related_name="notifications")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="support_notifications")
    event = models.CharField(max_length=24, choices=Event.choices)
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["sent_at", "created_at"], name="support_outbox_idx")]

    def __str__(self):
        return f"{self.get_event_display()} → {self.recipient}"


class FieldVisit(models.Model):
    """A technician's trip to a customer's premises, from a ticket or on its own."""

    class Status(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        STARTED = "started", "Started"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    OPEN_STATUSES = (Status.ASSIGNED, Status.STARTED)

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="visits")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="field_visits")
    purpose = models.CharField(max_length=200)
    technician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="field_visits")
    scheduled_at = models.DateTimeField()
    address = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ASSIGNED)
    outcome_notes = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_at", "-id"]
        indexes = [
            models.Index(fields=["technician", "status", "scheduled_at"], name="visit_tech_idx"),
            models.Index(fields=["organization", "status"], name="visit_org_status_idx"),
        ]
        permissions = [("dispatch_fieldvisit", "Can dispatch and see every field visit in scope")]

    def __str__(self):
        return f"Visit V-{self.pk:06d}: {self.purpose}" if self.pk else self.purpose

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class VisitMaterial(models.Model):
    """Material used on a visit; taken out of the technician's stock when the visit completes.

    `movement` is the stock journal entry that consumed it: a line with a movement has been
    taken from stock and is never taken again.
    """

    visit = models.ForeignKey(FieldVisit, on_delete=models.CASCADE, related_name="materials")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    serial_unit = models.ForeignKey("inventory.SerialUnit", on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+")
    movement = models.OneToOneField("inventory.StockMovement", on_delete=models.PROTECT,
                                    null=True, blank=True, editable=False, related_name="+")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        unit = f" #{self.serial_unit}" if self.serial_unit_id else ""
        return f"{self.quantity} x {self.product.name}{unit}"
