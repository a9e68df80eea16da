"""Domain events of the subscriber lifecycle.

Services send them after the change is committed (`transaction.on_commit`); the network side
(networking: Disconnect-Request / CoA), billing and notifications listen. Receivers get
keyword arguments only.
"""

from django.dispatch import Signal

# subscriber, old_status, new_status, action (e.g. "suspend"), reason, actor
status_changed = Signal()

# subscriber, change ("renew", "change_plan", "topup", "booster", "addon", "speed_override",
# "reset_mac", "reset_password", "move"), details (dict), actor
service_changed = Signal()

# subscribers (list), change ("renew"), details ({subscriber id: dict}), old_statuses
# ({subscriber id: status}), actor: one change applied to a batch at once (the auto-renewal
# run); receivers act per subscriber as for `service_changed`/`status_changed`, in bulk.
services_changed = Signal()
