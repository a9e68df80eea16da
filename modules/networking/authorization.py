"""What a subscriber's session should carry right now: the rules shared by the RADIUS policy
(answering from its in-memory snapshot) and the CoA tasks (reading the database).
"""

from __future__ import annotations

from modules.networking.selectors import walled_garden

THROTTLED_STATUSES = ("limited",)
DISCONNECT_STATUSES = ("new", "suspended", "terminated", "expired")


def plan_rate_attributes(plan, vendor: str, *, throttled: bool = False,
                         download_kbps: int | None = None, upload_kbps: int | None = None,
                         for_coa: bool = False) -> list[tuple[str, str]]:
    """The plan's vendor attributes at full, overridden or FUP-throttled speed.

    A CoA changes the rate of a live session only: Framed-Pool is left out of it.
    """
    from modules.plans.services import reply_attributes

    if throttled and plan.fup_download_kbps and plan.fup_upload_kbps:
        download_kbps, upload_kbps = plan.fup_download_kbps, plan.fup_upload_kbps
    if download_kbps or upload_kbps:
        attributes = reply_attributes(plan, vendor,
                                      download_kbps=download_kbps or plan.download_kbps,
                                      upload_kbps=upload_kbps or plan.upload_kbps)
    else:
        attributes = reply_attributes(plan, vendor)
    if for_coa:
        attributes = [a for a in attributes if a[0] != "Framed-Pool"]
    return attributes


def walled_garden_attributes(plan, vendor: str) -> list[tuple[str, str]]:
    """Restricted rate and the walled-garden pool (the payment page is reachable from it)."""
    pool, kbps = walled_garden()
    attributes: list[tuple[str, str]] = []
    if plan is not None:
        attributes = [a for a in plan_rate_attributes(plan, vendor, download_kbps=kbps,
                                                      upload_kbps=kbps)
                      if a[0] != "Framed-Pool"]
    elif vendor == "mikrotik":
        attributes = [("Mikrotik-Rate-Limit", f"{kbps}k/{kbps}k")]
    return [*attributes, ("Framed-Pool", pool)]
