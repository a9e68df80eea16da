"""The auth log writer: attempts are formatted as COPY text where they happen and shipped in
batches; odd characters survive, and a row PostgreSQL refuses never blocks the rest."""

from datetime import UTC, datetime

from modules.networking.models import AuthLog
from radius_server.authlog import AuthLogWriter, copy_line

MOMENT = datetime(2026, 11, 30, 18, 5, 9, 250000, tzinfo=UTC).timestamp()


def test_copy_line_escapes_separators_drops_nul_and_writes_null_ids():
    line = copy_line(MOMENT, "a\tb\\c\nd\x00e", None, 7, None, "fe80::1%eth0", None, "pap",
                     "reject", "wrong_password")
    assert line == ("2026-11-30 18:05:09.250000+00\ta\\tb\\\\c\\nde\t\\N\t7\t\\N\tfe80::1\t\t"
                    "pap\treject\twrong_password\n")


def test_copy_line_cuts_values_to_their_columns():
    line = copy_line(MOMENT, "u" * 100, 1, 2, 3, "10.0.0.1", "m" * 100, "mschapv2", "accept",
                     "r" * 100)
    fields = line.rstrip("\n").split("\t")
    assert (len(fields[1]), len(fields[6]), len(fields[9])) == (64, 64, 48)


def test_odd_usernames_round_trip_and_a_refused_row_is_dropped_alone(transactional_db):
    writer = AuthLogWriter()
    names = ["tab\there", "back\\slash", "new\nline", "plain"]
    for name in names:
        writer.add(MOMENT, name, None, None, None, "10.0.0.1", "02:00:00:00:00:01", "pap",
                   "reject", "unknown_user")
    writer.add(MOMENT, "bad-address", None, None, None, "not-an-ip", "", "pap", "reject",
               "unknown_user")
    writer.add(MOMENT, "after", None, None, None, "10.0.0.1", "", "pap", "accept", "")
    writer.flush()
    writer._close()
    stored = dict(AuthLog.objects.values_list("username", "created_at"))
    assert set(stored) == {*names, "after"}
    assert stored["plain"] == datetime.fromtimestamp(MOMENT, UTC)
    assert writer.dropped == 1 and writer.written == 6 and not writer.rows
