"""Partition the auth log and RADIUS sessions by month, or run their monthly upkeep now."""

from django.core.management.base import BaseCommand

from modules.ops import partitions


class Command(BaseCommand):
    help = ("Show the partitioned tables; --convert turns plain ones into monthly partitions "
            "(a maintenance window: the table is locked while its rows are copied); "
            "--maintain creates the coming months and drops expired ones.")

    def add_arguments(self, parser):
        parser.add_argument("--convert", action="store_true")
        parser.add_argument("--maintain", action="store_true")

    def handle(self, *args, convert=False, maintain=False, **options):
        for spec in partitions.tables():
            if convert and not partitions.is_partitioned(spec.table):
                moved = partitions.convert(spec)
                self.stdout.write(f"{spec.table}: partitioned by month, {moved} rows moved")
        if maintain:
            for table, done in partitions.maintain().items():
                self.stdout.write(f"{table}: created {done['created'] or 'none'}, "
                                  f"dropped {done['dropped'] or 'none'}")
        for spec in partitions.tables():
            if partitions.is_partitioned(spec.table):
                names = partitions.partitions(spec.table)
                self.stdout.write(f"{spec.table}: {len(names)} partitions, {names[0]} .. "
                                  f"{names[-1]}; keeps {spec.keep_months or 'all'} months")
            else:
                self.stdout.write(f"{spec.table}: not partitioned")
