"""Bulk import and export of subscribers (django-import-export), scoped to the importing user.

Column format (also the downloadable template, see `TEMPLATE_HEADERS`):

    username*, password*, name*, mobile, email, address, area, city, state, pincode,
    tax_number, organization, plan, connection_type, mac_address, static_ipv4, ipv6_prefix,
    nas_ip, simultaneous_use, status, expires_at, notes

- `organization` is an organization code in the importer's scope (empty: the importer's own);
  `plan` is a plan code the importer may sell and that organization may use.
- `status` is new (default), active, suspended or expired; active/suspended/expired need
  `expires_at` (ISO date or date-time, tenant time zone) - for migrating running customers.
- Usernames are unique in the ISP; duplicates inside the file or against existing subscribers
  are row errors. Existing subscribers are never updated by an import.
- Passwords are accepted in clear and stored encrypted; exports never contain them.

Speed (100,000 rows a pass): every lookup (organizations, plans, existing usernames) is one
query per file; a row skips import-export's generic per-row work that a create-only import does
not need (instance loader, diff, the field walk recomputed per row, `full_clean`) but keeps its
per-column validation and row results; a confirmed import streams each valid row into one COPY
while the next rows are validated (`copy_stream`), then writes the audit rows in one INSERT; the
dry run does not write at all.
"""

from __future__ import annotations

from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from import_export import fields, resources
from import_export.instance_loaders import BaseInstanceLoader
from import_export.results import RowResult

from modules.core import scope
from modules.plans.cells import neutralize, unescape_cell
from modules.plans.models import Plan
from modules.plans.selectors import available_to_organization, sellable_plans
from modules.plans.services import tenant_zone
from modules.subscribers.copy_stream import SubscriberCopy
from modules.subscribers.models import Subscriber
from modules.subscribers.validation import (
    normalize_email,
    normalize_ip,
    normalize_ipv4,
    normalize_ipv6_prefix,
    normalize_mac,
    normalize_mobile,
    tenant_region,
)

TEMPLATE_HEADERS = [
    "username", "password", "name", "mobile", "email", "address", "area", "city", "state",
    "pincode", "tax_number", "organization", "plan", "connection_type", "mac_address",
    "static_ipv4", "ipv6_prefix", "nas_ip", "simultaneous_use", "status", "expires_at", "notes",
]
REQUIRED_HEADERS = {"username", "password", "name"}
EXPORT_HEADERS = [h for h in TEMPLATE_HEADERS if h != "password"]
IMPORTABLE_STATUSES = {"new", "active", "suspended", "expired"}
CONNECTION_TYPES = set(Subscriber.ConnectionType.values)
PREVIEW_ROWS = 500
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")


class NeverExisting(BaseInstanceLoader):
    """Imports only create; no per-row lookup (uniqueness is checked against one preload)."""

    def get_instance(self, row):
        return None


class SubscriberResource(resources.ModelResource):
    organization = fields.Field(column_name="organization", attribute="organization_code")
    plan = fields.Field(column_name="plan", attribute="plan_code")
    password = fields.Field(column_name="password", attribute="password_clear")

    class Meta:
        model = Subscriber
        fields = TEMPLATE_HEADERS
        import_id_fields = []
        instance_loader_class = NeverExisting
        force_init_instance = True
        use_bulk = True  # no savepoint per row
        batch_size = None  # rows go to `copy_stream` as they pass, not in batches
        skip_diff = True
        skip_unchanged = False
        clean_model_instances = False
        report_skipped = False

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.imported_ids: list[int] = []
        self.previewed = 0
        self.dry_run = False
        self.stream: SubscriberCopy | None = None
        self.write_error: Exception | None = None

    def import_data(self, dataset, dry_run=False, **kwargs):
        self.dry_run = dry_run  # before_import and the row hooks are not told
        return super().import_data(dataset, dry_run=dry_run, **kwargs)

    def import_data_inner(self, dataset, *args, **kwargs):
        try:
            return super().import_data_inner(dataset, *args, **kwargs)
        finally:
            if self.stream is not None:  # an exception left the COPY open
                self.stream.abort()

    # Header and lookups: one query each per file -----------------------------------------
    def before_import(self, dataset, **kwargs):
        headers = [str(h or "").strip().lower() for h in (dataset.headers or [])]
        missing = REQUIRED_HEADERS - set(headers)
        unknown = [h for h in headers if h not in TEMPLATE_HEADERS]
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"missing column(s): {', '.join(sorted(missing))}")
            if unknown:
                parts.append(f"unknown column(s): {', '.join(unknown)}")
            raise ValidationError(f"Wrong headers ({'; '.join(parts)}). "
                                  "Download the template for the column format.")
        dataset.headers = headers
        user = self.user
        home = user.organization if user is not None else None
        self.tenant_id = home.tenant_id if home else None
        self.home = home
        self.orgs = {o.code: o for o in scope.allowed_organizations(user)
                     if o.tenant_id == self.tenant_id}
        self.plans: dict[str, list[Plan]] = {}
        for plan in sellable_plans(user).filter(plan_type=Plan.Type.BROADBAND):
            self.plans.setdefault(plan.code, []).append(plan)
        self.region = tenant_region(self.tenant_id)
        self.zone = tenant_zone(self.tenant_id)
        names = list({str(n).strip() for n in dataset["username"] if n})
        with connection.cursor() as cursor:  # one array parameter, not 100,000 placeholders
            cursor.execute("SELECT username FROM subscribers_subscriber WHERE tenant_id = %s "
                           "AND username = ANY(%s::text[])", [self.tenant_id, names])
            self.existing = {name for (name,) in cursor.fetchall()}
        self.seen: set[str] = set()
        self.available: dict[int, set[int]] = {}
        # Plans per organization named in the file, read now: no query while rows stream.
        codes = {unescape_cell(c) for c in dataset["organization"]} if (
            "organization" in headers) else set()
        for org in [self.home, *(self.orgs[c] for c in codes if c in self.orgs)]:
            if org is not None:
                self._available(org)
        self.total_rows = len(dataset)
        self.stream = None if self.dry_run else SubscriberCopy()
        self.import_fields = self.get_import_fields()
        blank = Subscriber(tenant_id=self.tenant_id)
        self.blank = {k: v for k, v in blank.__dict__.items() if k != "_state"}

    def init_instance(self, row=None):
        """A blank subscriber copied from one built per file: the model constructor walks
        every field and its default, ~20 times the cost, once per row."""
        subscriber = Subscriber.__new__(Subscriber)
        subscriber.__dict__.update(self.blank)
        subscriber._state = ModelState()
        return subscriber

    def import_row(self, row, instance_loader, **kwargs):
        """One create-only row: the per-column validation and the row result of
        import-export's `import_row`, without its instance loader, diff and `full_clean`."""
        result = RowResult()
        try:
            instance = self.init_instance(row)
            result.import_type = RowResult.IMPORT_TYPE_NEW
            self.import_instance(instance, row, **kwargs)
            self.save_instance(instance, True, row, **kwargs)
            result.object_repr = instance.username
            if self._meta.store_instance or kwargs.get("retain_instance_in_row_result"):
                result.instance = instance
            self.after_import_row(row, result, **kwargs)
        except ValidationError as exc:
            result.import_type = RowResult.IMPORT_TYPE_INVALID
            result.validation_error = exc
        except Exception as exc:  # reported on the row, like import-export does
            result.import_type = RowResult.IMPORT_TYPE_ERROR
            result.errors.append(self.get_error_result_class()(
                exc, row=row, number=kwargs.get("row_number")))
        if self.stream is not None and kwargs.get("row_number", 0) >= self.total_rows:
            self.finish_stream()  # the last row: before import-export's closing savepoint
        return result

    def save_instance(self, instance, is_create, row, **kwargs):
        """A valid row of a confirmed import goes to the COPY now (the dry run keeps none)."""
        if self.stream is not None:
            self.stream.add(instance, self.total_rows - kwargs.get("row_number", 1) + 1)

    # Per row: widgets set raw text, then one validation pass reports every bad column ---
    def import_instance(self, instance, row, **kwargs):
        errors: dict[str, list[str]] = {}
        for key in row:
            value = unescape_cell(row[key])
            if isinstance(value, str) and "\x00" in value:  # PostgreSQL refuses it at COPY
                errors[key] = ["This cell holds a NUL character, which cannot be stored."]
                value = value.replace("\x00", "")
            row[key] = value
        for field in self.import_fields:
            try:
                self.import_field(field, instance, row)
            except ValueError as exc:
                errors[field.attribute] = [str(exc)]
        self._validate(instance, errors)
        if errors:
            raise ValidationError(errors)

    def _validate(self, sub: Subscriber, errors: dict) -> None:
        def check(name, normalize, *args):
            try:
                setattr(sub, name, normalize(getattr(sub, name) or "", *args))
            except ValidationError as exc:
                errors.setdefault(name, []).extend(exc.messages)

        username = (sub.username or "").strip()
        sub.username = username
        if not username:
            errors.setdefault("username", []).append("A username is required.")
        elif len(username) > 64 or not set(username) <= USERNAME_CHARS:
            errors.setdefault("username", []).append(
                "Use up to 64 letters, digits and . _ - @ in a username.")
        elif username in self.seen:
            errors.setdefault("username", []).append(f"“{username}” appears twice in this file.")
        elif username in self.existing:
            errors.setdefault("username", []).append(f"“{username}” already exists.")
        self.seen.add(username)
        if not (getattr(sub, "password_clear", "") or ""):
            errors.setdefault("password", []).append("A password is required.")
        if not (sub.name or "").strip():
            errors.setdefault("name", []).append("A name is required.")
        check("mobile", normalize_mobile, self.region)
        check("email", normalize_email)
        check("mac_address", normalize_mac)
        check("static_ipv4", normalize_ipv4)
        check("nas_ip", normalize_ip)
        check("ipv6_prefix", normalize_ipv6_prefix)
        self._organization(sub, errors)
        self._plan(sub, errors)
        self._choices_and_numbers(sub, errors)

    def _organization(self, sub, errors):
        code = getattr(sub, "organization_code", "") or ""
        org = self.orgs.get(code) if code else self.home
        if org is None:
            errors.setdefault("organization", []).append(
                f"“{code}” is not an organization you may add subscribers to.")
            return
        sub.organization = org

    def _plan(self, sub, errors):
        code = getattr(sub, "plan_code", "") or ""
        if not code:
            sub.plan = None
            return
        candidates = self.plans.get(code, [])
        org = sub.organization if sub.organization_id else None
        usable = [p for p in candidates if org is None or p.pk in self._available(org)]
        if not usable:
            errors.setdefault("plan", []).append(
                f"“{code}” is not a broadband plan you may sell here." if not candidates else
                f"The plan “{code}” is not available to {org}.")
            return
        sub.plan = max(usable, key=lambda p: p.organization.depth)  # the nearest owner wins

    def _available(self, org) -> set[int]:
        """Plans a subscriber of `org` may be on (plan sharing included), one query per org."""
        if org.pk not in self.available:
            if self.stream is not None:
                self.stream.pause()
            self.available[org.pk] = set(
                available_to_organization(org).values_list("pk", flat=True))
        return self.available[org.pk]

    def _choices_and_numbers(self, sub, errors):
        if sub.connection_type in ("", None):
            sub.connection_type = Subscriber.ConnectionType.PPPOE
        elif sub.connection_type not in CONNECTION_TYPES:
            errors.setdefault("connection_type", []).append(
                f"Use one of {', '.join(Subscriber.ConnectionType.values)}.")
        status = (sub.status or "new").lower()
        sub.status = status
        if status not in IMPORTABLE_STATUSES:
            allowed = ", ".join(sorted(IMPORTABLE_STATUSES))
            errors.setdefault("status", []).append(f"Use one of {allowed}.")
        elif status != "new":
            if not sub.expires_at:
                errors.setdefault("expires_at", []).append(
                    f"A {status} subscriber needs expires_at.")
            if not sub.plan_id and "plan" not in errors:
                errors.setdefault("plan", []).append(f"A {status} subscriber needs a plan.")
            sub.activated_at = timezone.now()
        for name, limit in (("name", 150), ("mobile", 20), ("area", 80), ("city", 80),
                            ("state", 80), ("pincode", 10), ("tax_number", 15)):
            if len(getattr(sub, name) or "") > limit:
                errors.setdefault(name, []).append(f"At most {limit} characters.")

    def after_import_row(self, row, row_result, **kwargs):
        """The preview shows the first rows as read (the diff is skipped for speed); never a
        password."""
        if (self.dry_run and self.previewed < PREVIEW_ROWS
                and row_result.import_type != RowResult.IMPORT_TYPE_SKIP):
            self.previewed += 1
            row_result.diff = ["••••••" if name == "password" and row.get(name) else
                               row.get(name) or "" for name in self.get_diff_headers()]

    # Field conversions the widgets do not know -----------------------------------------
    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        name = field.attribute
        if name == "expires_at":
            instance.expires_at = self._expiry(row.get("expires_at"))
            return
        if name == "simultaneous_use":
            value = row.get("simultaneous_use")
            if value in ("", None):
                instance.simultaneous_use = None
                return
            if not str(value).isdigit() or not 1 <= int(value) <= 64:
                raise ValueError("A number from 1 to 64.")
            instance.simultaneous_use = int(value)
            return
        if field.column_name in row:
            value = row[field.column_name]
            setattr(instance, name, "" if value is None else value)

    def _expiry(self, value):
        if value in ("", None):
            return None
        if isinstance(value, datetime):
            return value if timezone.is_aware(value) else timezone.make_aware(value, self.zone)
        text = str(value).strip()
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            if day is None:
                raise ValueError("Use a date like 2026-12-31 or 2026-12-31 23:59.")
            moment = datetime.combine(day, time(23, 59, 59))
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment, self.zone)

    # Saving: rows stream during the loop; here the stream ends and the audit is written ---
    def finish_stream(self) -> None:
        stream, self.stream = self.stream, None
        written = stream.finish()
        self.write_error = stream.error
        if written:
            self.record_import(written)
            self.imported_ids += [pk for pk, _ in written]

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None,
                    result=None):
        """Called once, after the last row: report a failed COPY (the import rolls back)."""
        self.create_instances.clear()
        if self.stream is not None:
            self.finish_stream()
        error, self.write_error = self.write_error, None
        if error is not None:
            self.handle_import_error(result, error, raise_errors)

    def record_import(self, written: list[tuple[int, str]]) -> None:
        """The audit row of each imported subscriber, in one INSERT (no model per row)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO subscribers_statuschange (subscriber_id, from_status, to_status, "
                "action, reason, actor_id, created_at) "
                "SELECT row.id, 'new', row.status, 'import', '', %s, %s "
                "FROM unnest(%s::bigint[], %s::text[]) AS row(id, status)",
                [self.user.pk if self.user is not None else None, timezone.now(),
                 [pk for pk, _ in written], [status for _, status in written]])

    # Export (import-export's own, for modest selections; big exports stream) -----------
    def export_field(self, field, instance, **kwargs):
        if field.column_name == "password":
            return ""
        if field.column_name == "organization":
            return neutralize(instance.organization.code)
        if field.column_name == "plan":
            return neutralize(instance.plan.code if instance.plan_id else "")
        return neutralize(super().export_field(field, instance, **kwargs) or "")

    def get_export_fields(self, selected_fields=None):
        return [f for f in super().get_export_fields(selected_fields)
                if f.column_name != "password"]

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("organization", "plan")

