from django.db import models


class Heartbeat(models.Model):
    """The last time a celery worker (or any other process) proved it runs tasks.

    One row per source, rewritten on each ping: a monitor reads `seen_at`, and `token` lets a
    caller recognise the answer to its own ping.
    """

    source = models.CharField(max_length=200, unique=True)
    token = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    seen_at = models.DateTimeField()
    pings = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["source"]

    def __str__(self):
        return f"{self.source} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
