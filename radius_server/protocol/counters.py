"""Per-process tallies of what the server did and why it stayed silent, plus latency.

Latency runs from the kernel's receive timestamp to the reply's ``sendto``, so it includes
the time a request waited in the socket buffer, not only the processing time.
"""

import bisect
import threading
from collections import Counter

# Bucket upper bounds in seconds: 10 us .. ~42 s, each 1.25x the previous one.
_BOUNDS = [1e-5 * 1.25**i for i in range(69)]


class LatencyHistogram:
    """Log-scale histogram; percentiles report the upper bound of the bucket (conservative)."""

    def __init__(self):
        self.counts = [0] * (len(_BOUNDS) + 1)
        self.total = 0
        self.sum = 0.0
        self.max = 0.0

    def record(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(_BOUNDS, seconds)] += 1
        self.total += 1
        self.sum += seconds
        if seconds > self.max:
            self.max = seconds

    def percentile(self, fraction: float) -> float:
        if not self.total:
            return 0.0
        rank = fraction * self.total
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return min(_BOUNDS[index], self.max) if index < len(_BOUNDS) else self.max
        return self.max

    def summary(self) -> dict:
        mean = self.sum / self.total if self.total else 0.0
        return {
            "count": self.total,
            "mean_ms": round(mean * 1e3, 3),
            "p50_ms": round(self.percentile(0.50) * 1e3, 3),
            "p90_ms": round(self.percentile(0.90) * 1e3, 3),
            "p99_ms": round(self.percentile(0.99) * 1e3, 3),
            "max_ms": round(self.max * 1e3, 3),
        }


class Counters:
    """Accepts, rejects by reason, silent drops by reason, other replies, and latency."""

    def __init__(self):
        self._lock = threading.Lock()
        self.accepts = 0
        self.rejects: Counter[str] = Counter()
        self.drops: Counter[str] = Counter()
        self.accounting_responses = 0
        self.status_responses = 0
        self.duplicates_resent = 0
        self.latency = LatencyHistogram()

    def accepted(self, latency: float) -> None:
        with self._lock:
            self.accepts += 1
            self.latency.record(latency)

    def rejected(self, reason: str, latency: float) -> None:
        with self._lock:
            self.rejects[reason] += 1
            self.latency.record(latency)

    def accounted(self, latency: float) -> None:
        with self._lock:
            self.accounting_responses += 1
            self.latency.record(latency)

    def status_answered(self) -> None:
        with self._lock:
            self.status_responses += 1

    def duplicate_resent(self) -> None:
        with self._lock:
            self.duplicates_resent += 1

    def dropped(self, reason: str) -> None:
        with self._lock:
            self.drops[reason] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "accepts": self.accepts,
                "rejects": dict(self.rejects),
                "drops": dict(self.drops),
                "accounting_responses": self.accounting_responses,
                "status_responses": self.status_responses,
                "duplicates_resent": self.duplicates_resent,
                "latency": self.latency.summary(),
            }
