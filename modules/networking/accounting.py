"""Storing RADIUS accounting: sessions, daily usage and FUP cycle usage in one transaction.

The RADIUS server hands a batch of records (everything that arrived while the previous
batch was being written); `store_batch` writes them with a handful of set-based statements
and returns only after COMMIT, so the server acknowledges exactly what is durable.

Counters are absolute 64-bit values (octets + Gigawords << 32): a session stores them, and
usage grows by the difference to what was stored before. A retransmitted Interim-Update or
Stop therefore adds nothing (idempotent), a repeated Start is an upsert, and an
Interim-Update for an unknown session creates it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from modules.networking.fup import THRESHOLDS, _zone, cycle_start

log = logging.getLogger(__name__)

START, STOP, INTERIM, ON, OFF = "Start", "Stop", "Interim-Update", "Accounting-On", "Accounting-Off"
SESSION_CHANNEL = "radius_sessions"
WRITER_LOCK = 0x52414443  # pg_advisory_xact_lock key of accounting writers


@dataclass(slots=True)
class AcctRecord:
    status: str
    unique_id: str
    session_id: str
    username: str
    tenant_id: int
    nas_id: int | None
    nas_org_id: int | None
    nas_ip: str | None
    event_time: datetime
    nas_port_id: str = ""
    calling_station_id: str = ""
    called_station_id: str = ""
    framed_ip: str | None = None
    delegated_prefix: str = ""
    session_time: int | None = None
    input_octets: int | None = None
    output_octets: int | None = None
    terminate_cause: str = ""


@dataclass(slots=True)
class _Session:
    pk: int | None
    subscriber_id: int | None
    organization_id: int | None
    started_at: datetime | None  # None for a stored session (never rewritten)
    stopped_at: datetime | None
    input_octets: int
    output_octets: int
    was_open: bool
    record: AcctRecord | None = None
    session_time: int = 0
    terminate_cause: str = ""
    updated_at: datetime | None = None


@dataclass(slots=True)
class FupEvent:
    """What the caller must do after COMMIT: alerts to send, sessions to throttle or cut."""

    subscriber_id: int
    thresholds: list[int]
    exhausted_now: bool
    octets: int
    limit: int


def store_batch(records: list[AcctRecord], *, now: datetime | None = None) -> list[FupEvent]:
    """Write `records` in one transaction (in arrival order); raises if nothing was stored."""
    now = now or timezone.now()
    return retry_moved_rows(lambda: _store_batch(records, now))


def retry_moved_rows(write, attempts: int = 3):
    """Run `write` in a (sub)transaction, again if a session row it waited for was moved.

    Once the sessions table is partitioned by month of `stopped_at`, closing a session moves
    its row out of the open-sessions partition; a statement that was waiting for that row
    fails with SQLSTATE 40001 instead of following it. Running it again finds the row where
    it is now (and sees that the session was closed).
    """
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return write()
        except OperationalError as exc:
            cause = exc.__cause__
            code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
            if code != "40001" or attempt == attempts:
                raise
            log.info("session row moved by a concurrent close, writing again (%s)", attempt)
    return None


def _store_batch(records: list[AcctRecord], now: datetime) -> list[FupEvent]:
    events: list[FupEvent] = []
    notices: list[str] = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            # One accounting writer at a time, across processes and machines: records of one
            # session may arrive through several servers, and a session's counters are read,
            # compared and written back. Holding this lock, the rows need no row locks.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [WRITER_LOCK])
        chunk: list[AcctRecord] = []
        for record in records:
            if record.status in (ON, OFF):
                if chunk:
                    events += _store_sessions(chunk, now, notices)
                    chunk = []
                _close_nas(record, notices)
            elif record.unique_id:
                chunk.append(record)
        if chunk:
            events += _store_sessions(chunk, now, notices)
        _notify(notices)
        if events:
            _record_alerts(events)
            transaction.on_commit(lambda: _after_commit(events))
    return events


def _record_alerts(events: list[FupEvent]) -> None:
    with connection.cursor() as cursor:
        for event in events:
            for threshold in event.thresholds:
                cursor.execute(
                    "INSERT INTO networking_usagealert (subscriber_id, organization_id, "
                    "cycle_start, threshold, octets, created_at) SELECT subscriber_id, "
                    "organization_id, cycle_start, %s, %s, now() FROM networking_cycleusage "
                    "WHERE subscriber_id = %s ORDER BY cycle_start DESC LIMIT 1 "
                    "ON CONFLICT DO NOTHING",
                    [threshold, event.octets, event.subscriber_id],
                )


def _after_commit(events: list[FupEvent]) -> None:
    """Notices and throttling run in a celery worker, never in the accounting thread."""
    from modules.networking import tasks

    tasks.apply_quota_events.delay([
        {"subscriber_id": e.subscriber_id, "thresholds": e.thresholds,
         "exhausted_now": e.exhausted_now, "octets": e.octets, "limit": e.limit}
        for e in events
    ])


def _close_nas(record: AcctRecord, notices: list[str]) -> None:
    """Accounting-On/Off: the NAS restarted, so every session of that NAS-IP-Address is over
    (as FreeRADIUS does; a client subnet may hold several NASes)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE networking_radiussession SET stopped_at = %s, terminate_cause = %s, "
            "updated_at = %s WHERE stopped_at IS NULL AND nas_ip = %s "
            "RETURNING subscriber_id, unique_id, framed_ip",
            [record.event_time, "NAS-Reboot", record.event_time, record.nas_ip],
        )
        closed = cursor.fetchall()
        _release(cursor, [(sub, ip) for sub, _uid, ip in closed if sub and ip])
    notices += [f"-{sub} {uid}" for sub, uid, _ip in closed if sub]


def _release(cursor, pairs: list[tuple[int, str]]) -> None:
    if not pairs:
        return
    cursor.execute(
        "UPDATE networking_ipv4lease l SET subscriber_id = NULL, nas_id = NULL, "
        "session_unique_id = '', leased_at = NULL FROM unnest(%s::bigint[], %s::inet[]) "
        "AS s(subscriber_id, address) WHERE l.subscriber_id = s.subscriber_id "
        "AND l.address = s.address",
        [[p[0] for p in pairs], [p[1] for p in pairs]],
    )


def _subscribers(cursor, records: list[AcctRecord]) -> dict[tuple[int, str], tuple]:
    keys = {(r.tenant_id, r.username) for r in records if r.username}
    if not keys:
        return {}
    cursor.execute(
        # activated_at matters only to a quota's cycle: not loaded otherwise
        "SELECT s.tenant_id, s.username, s.id, s.organization_id, "
        "CASE WHEN p.quota_mb > 0 THEN s.activated_at END, p.quota_mb, "
        "p.quota_reset, p.validity_unit, p.validity_value, p.fup_action "
        "FROM subscribers_subscriber s LEFT JOIN plans_plan p ON p.id = s.plan_id "
        "JOIN unnest(%s::bigint[], %s::text[]) AS k(tenant_id, username) "
        "ON s.tenant_id = k.tenant_id AND s.username = k.username",
        [[k[0] for k in keys], [k[1] for k in keys]],
    )
    return {(row[0], row[1]): row[2:] for row in cursor.fetchall()}


def _store_sessions(records: list[AcctRecord], now: datetime, notices: list[str]) -> list[FupEvent]:
    with connection.cursor() as cursor:
        subscribers = _subscribers(cursor, records)
        sessions = _stored_sessions(cursor, {r.unique_id for r in records})
        daily: dict[tuple[int, object], list[int]] = {}
        cycle: dict[int, list] = {}
        released: list[tuple[int, str]] = []
        for record in records:
            sub = subscribers.get((record.tenant_id, record.username))
            state = sessions.get(record.unique_id)
            if state is None:
                started = record.event_time
                if record.status != START and record.session_time:
                    started = record.event_time - timedelta(seconds=record.session_time)
                state = sessions[record.unique_id] = _Session(
                    pk=None, subscriber_id=sub[0] if sub else None,
                    organization_id=sub[1] if sub else record.nas_org_id, started_at=started,
                    stopped_at=None, input_octets=0, output_octets=0, was_open=False)
            state.record = record
            state.updated_at = max(state.updated_at or record.event_time, record.event_time)
            if record.session_time is not None:
                state.session_time = max(state.session_time, record.session_time)
            delta_in = max(0, (record.input_octets or 0) - state.input_octets)
            delta_out = max(0, (record.output_octets or 0) - state.output_octets)
            state.input_octets += delta_in
            state.output_octets += delta_out
            if record.status == STOP and state.stopped_at is None:
                state.stopped_at = record.event_time
                state.terminate_cause = record.terminate_cause
                if state.subscriber_id and record.framed_ip:
                    released.append((state.subscriber_id, record.framed_ip))
            if (delta_in or delta_out) and sub:
                zone = _zone(record.tenant_id)
                day = record.event_time.astimezone(zone).date()
                totals = daily.setdefault((sub[0], day), [sub[1], 0, 0])
                totals[1] += delta_in
                totals[2] += delta_out
                if sub[3]:  # the plan has a quota
                    start = cycle_start(tenant_id=record.tenant_id, quota_reset=sub[4],
                                        validity_unit=sub[5], validity_value=sub[6],
                                        activated_at=sub[2], now=record.event_time)
                    entry = cycle.setdefault(sub[0], [sub[1], start, 0, sub[3] * 1048576])
                    entry[2] += delta_in + delta_out
        _write_sessions(cursor, sessions, now)
        _write_daily(cursor, daily)
        _release(cursor, released)
        for uid, state in sessions.items():
            if state.subscriber_id and state.record is not None:
                if not state.was_open and state.stopped_at is None:
                    notices.append(f"+{state.subscriber_id} {uid}")
                elif state.was_open and state.stopped_at is not None:
                    notices.append(f"-{state.subscriber_id} {uid}")
        return _write_cycles(cursor, cycle)


def _stored_sessions(cursor, unique_ids: set[str]) -> dict[str, _Session]:
    """The stored sessions of these ids: open ones first, then the rest.

    `stopped_at IS NULL` confines the common case (Interim-Updates of live sessions) to the
    open sessions' partition of a partitioned table; only ids not open there (Starts, late
    Stops) are looked up in every month. Of several closed rows of one id the latest wins.
    No row locks: the writer lock serializes accounting writers, and what other writers change
    (CoA results, an administrator's close) is never read back here.
    """
    found: dict[str, _Session] = {}
    # started_at is not read back: accounting never changes it on a stored session
    select = ("SELECT unique_id, id, subscriber_id, organization_id, stopped_at, "
              "input_octets, output_octets, session_time, terminate_cause "
              "FROM networking_radiussession WHERE ")
    for condition in ("stopped_at IS NULL AND unique_id = ANY(string_to_array(%s, ','))",
                      "unique_id = ANY(string_to_array(%s, ',')) ORDER BY stopped_at"):
        missing = unique_ids - found.keys()
        if not missing:
            break
        cursor.execute(f"{select}{condition}", [_id_list(missing)])
        for row in cursor.fetchall():
            found[row[0]] = _Session(
                pk=row[1], subscriber_id=row[2], organization_id=row[3], started_at=None,
                stopped_at=row[4], input_octets=row[5], output_octets=row[6],
                was_open=row[4] is None, session_time=row[7], terminate_cause=row[8])
    return found


_SESSION_COLUMNS = (
    "unique_id", "session_id", "username", "subscriber_id", "organization_id", "nas_id", "nas_ip",
    "nas_port_id", "calling_station_id", "called_station_id", "framed_ip",
    "delegated_ipv6_prefix", "started_at", "updated_at", "stopped_at", "session_time",
    "input_octets", "output_octets", "terminate_cause",
)


_SESSION_TYPES = (
    "text", "text", "text", "bigint", "bigint", "bigint", "inet", "text", "text", "text", "inet",
    "text", "timestamptz", "timestamptz", "timestamptz", "integer", "bigint", "bigint", "text",
)
_STOPPED_AT = _SESSION_COLUMNS.index("stopped_at")
# What accounting changes on a stored session (`v` is the incoming row).
_SESSION_CHANGES = (
    "framed_ip = COALESCE(v.framed_ip, s.framed_ip), delegated_ipv6_prefix = CASE WHEN "
    "v.delegated_ipv6_prefix = '' THEN s.delegated_ipv6_prefix ELSE v.delegated_ipv6_prefix END, "
    "updated_at = v.updated_at, stopped_at = v.stopped_at, session_time = v.session_time, "
    "input_octets = v.input_octets, output_octets = v.output_octets, "
    "terminate_cause = v.terminate_cause"
)


def _write_sessions(cursor, sessions: dict[str, _Session], now: datetime) -> None:
    """New sessions are inserted open, then open sessions updated (a Stop closes them).

    Inserting open first makes the open-session key `(unique_id, NULL)` the arbiter for
    every new row, so two writers creating one session still end with one row; closing is an
    UPDATE, which on a partitioned table moves the row into its month. The rows reach
    PostgreSQL by COPY into a temporary table (far cheaper to send than one array a column).
    """
    staged = []
    for uid, s in sessions.items():
        r = s.record
        if r is None:
            continue
        row = (uid, r.session_id[:64], r.username[:64], s.subscriber_id, s.organization_id,
               r.nas_id, r.nas_ip, r.nas_port_id[:64], r.calling_station_id[:64],
               r.called_station_id[:64], r.framed_ip, r.delegated_prefix[:43], s.started_at,
               s.updated_at, s.stopped_at, min(s.session_time, 2**31 - 1), s.input_octets,
               s.output_octets, (s.terminate_cause or "")[:32])
        if s.pk is None:
            staged.append((_NEW, *row[:_STOPPED_AT], None, *row[_STOPPED_AT + 1:]))
            if s.stopped_at is not None:  # a Stop for an unknown session
                staged.append((_OPEN, *row))
        elif s.was_open:
            staged.append((_OPEN, *row))
        else:  # retransmits to a closed session: its row stays where it is
            staged.append((_CLOSED, *row))
    if not staged:
        return
    _stage(cursor, staged)
    columns = ", ".join(_SESSION_COLUMNS)
    kinds = {row[0] for row in staged}
    # Column names are the constants above, never input: S608 does not apply.
    if _NEW in kinds:
        cursor.execute(
            f"INSERT INTO networking_radiussession AS s ({columns}, throttled, "  # noqa: S608
            f"last_coa_kind, last_coa_result, last_coa_error) SELECT {columns}, false, '', '', "
            f"'' FROM {_STAGE} WHERE kind = {_NEW} ON CONFLICT (unique_id, stopped_at) DO UPDATE "
            "SET " + _SESSION_CHANGES.replace("v.", "EXCLUDED."),
        )
    for kind, match in ((_OPEN, "s.stopped_at IS NULL"), (_CLOSED, "s.stopped_at = v.stopped_at")):
        if kind in kinds:
            cursor.execute(
                f"UPDATE networking_radiussession AS s SET {_SESSION_CHANGES} "  # noqa: S608
                f"FROM {_STAGE} AS v WHERE v.kind = {kind} AND {match} "
                "AND s.unique_id = v.unique_id",
            )


def _id_list(unique_ids) -> str:
    """Session ids as one comma-separated parameter: far cheaper to send than an array (an
    id is a hex MD5, see `AccountingRequest.unique_session_id`, so it never holds a comma)."""
    ids = list(unique_ids)
    joined = ",".join(ids)
    if joined.count(",") != len(ids) - 1:
        raise ValueError("a session id holds a comma")
    return joined


_STAGE = "networking_acct_stage"
_NEW, _OPEN, _CLOSED = 0, 1, 2


def _stage(cursor, rows: list[tuple]) -> None:
    """COPY session rows into this connection's staging table (emptied at every COMMIT)."""
    columns = ", ".join(f"{name} {kind}" for name, kind in
                        zip(_SESSION_COLUMNS, _SESSION_TYPES, strict=True))
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (kind smallint, {columns}) "
                   "ON COMMIT DELETE ROWS")
    # Indexed, so that a join driven from the sessions side (the planner's choice when stale
    # statistics call the open sessions few) still finds each staged row by lookup.
    cursor.execute(f"CREATE INDEX IF NOT EXISTS {_STAGE}_uid ON {_STAGE} (unique_id)")
    cursor.execute(f"DELETE FROM {_STAGE}")  # noqa: S608 - an earlier chunk of this batch
    with cursor.copy(f"COPY {_STAGE} (kind, {', '.join(_SESSION_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _write_daily(cursor, daily: dict) -> None:
    if not daily:
        return
    keys = sorted(daily)  # one lock order for concurrent accounting workers: no deadlock
    cursor.execute(
        "INSERT INTO networking_dailyusage (subscriber_id, day, organization_id, input_octets, "
        "output_octets) SELECT * FROM unnest(%s::bigint[], %s::date[], %s::bigint[], "
        "%s::bigint[], %s::bigint[]) ON CONFLICT (subscriber_id, day) DO UPDATE SET "
        "input_octets = networking_dailyusage.input_octets + EXCLUDED.input_octets, "
        "output_octets = networking_dailyusage.output_octets + EXCLUDED.output_octets",
        [[k[0] for k in keys], [k[1] for k in keys], [daily[k][0] for k in keys],
         [daily[k][1] for k in keys], [daily[k][2] for k in keys]],
    )


def _write_cycles(cursor, cycle: dict[int, list]) -> list[FupEvent]:
    """Add usage to the cycle counters; flag the 80/90/100 % crossings (each only once)."""
    if not cycle:
        return []
    ids = sorted(cycle)
    cursor.execute(
        "INSERT INTO networking_cycleusage (subscriber_id, organization_id, cycle_start, octets, "
        "quota_octets, extra_quota_octets, boosted, exhausted, alerts_sent, updated_at) "
        "SELECT s, o, c, n, q, 0, false, false, 0, now() FROM unnest(%s::bigint[], %s::bigint[], "
        "%s::timestamptz[], %s::bigint[], %s::bigint[]) AS t(s, o, c, n, q) "
        "ON CONFLICT (subscriber_id, cycle_start) DO UPDATE SET "
        "octets = networking_cycleusage.octets + EXCLUDED.octets, updated_at = now() "
        "RETURNING id, subscriber_id, octets, quota_octets + extra_quota_octets, boosted, "
        "exhausted, alerts_sent",
        [ids, [cycle[i][0] for i in ids], [cycle[i][1] for i in ids],
         [cycle[i][2] for i in ids], [cycle[i][3] for i in ids]],
    )
    events = []
    for pk, subscriber_id, octets, limit, boosted, exhausted, sent in cursor.fetchall():
        if not limit:
            continue
        due = [t for t in THRESHOLDS if t > sent and octets * 100 >= t * limit]
        exhaust = not exhausted and not boosted and octets >= limit
        if not due and not exhaust:
            continue
        cursor.execute(
            "UPDATE networking_cycleusage SET alerts_sent = GREATEST(alerts_sent, %s), "
            "exhausted = exhausted OR %s WHERE id = %s",
            [max(due, default=sent), exhaust, pk],
        )
        events.append(FupEvent(subscriber_id, due, exhaust, octets, limit))
    return events


def _notify(notices: list[str]) -> None:
    """Tell every RADIUS process which sessions opened or closed (delivered at COMMIT)."""
    if not notices:
        return
    payloads, current = [], ""
    for notice in notices:
        if len(current) + len(notice) > 7000:
            payloads.append(current)
            current = ""
        current = f"{current}\n{notice}" if current else notice
    payloads.append(current)
    with connection.cursor() as cursor:
        for payload in payloads:
            cursor.execute("SELECT pg_notify(%s, %s)", [SESSION_CHANNEL, payload])


def coalesce(records: list[AcctRecord]) -> list[AcctRecord]:
    """Fold the Interim-Updates of a session into its next Interim-Update or Stop of the same
    local day, so a backlog costs one row write per session instead of one per record.

    Counters are absolute, so the folded record carries the highest values seen and
    `store_batch` ends with the same counters and usage as when applying each record; days (and
    so quota cycles, which start at local midnight) are never merged. Accounting-On/Off stay
    where they are and nothing is folded across them. The records given are reused.
    """
    out: list[AcctRecord] = []
    open_interim: dict[str, tuple] = {}  # unique_id -> (index in out, local day) of its Interim
    for record in records:
        status = record.status
        if status in (ON, OFF):
            open_interim.clear()
            out.append(record)
            continue
        if status not in (INTERIM, STOP) or not record.unique_id:
            open_interim.pop(record.unique_id, None)
            out.append(record)
            continue
        day = _local_day(record)
        index, earlier_day = open_interim.get(record.unique_id, (None, None))
        earlier = out[index] if index is not None else None
        if earlier is not None and earlier_day == day:
            # the later record carries the fold (updated in place: a copy per record would
            # cost more than the rest of the fold)
            record.input_octets = _highest(earlier.input_octets, record.input_octets)
            record.output_octets = _highest(earlier.output_octets, record.output_octets)
            record.session_time = _highest(earlier.session_time, record.session_time)
            record.event_time = max(earlier.event_time, record.event_time)
            out[index] = record
        else:
            index = len(out)
            out.append(record)
        if status == INTERIM:
            open_interim[record.unique_id] = (index, day)
        else:
            open_interim.pop(record.unique_id, None)
    return out


def _local_day(record: AcctRecord):
    return record.event_time.astimezone(_zone(record.tenant_id)).date()


def _highest(first: int | None, second: int | None) -> int | None:
    if first is None:
        return second
    return second if second is not None and second > first else first

