"""What every module's outbox row records about its delivery (see `outbox.py`)."""

from django.db import models


class DeliveryState(models.Model):
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=255, blank=True, editable=False)

    class Meta:
        abstract = True
