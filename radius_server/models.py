"""What the RADIUS server keeps in PostgreSQL for itself."""

from django.db import models


class SpoolMark(models.Model):
    """How far an accounting spool has been applied: written in the same transaction as the
    records, so a restart replays exactly what was acknowledged but not yet stored."""

    spool = models.CharField(max_length=64, primary_key=True)
    segment = models.BigIntegerField()
    position = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.spool} {self.segment}:{self.position}"
