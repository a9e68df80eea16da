"""Billing's domain events, sent inside the money transaction so a receiver's refusal
(raising BillingError) rolls the whole operation back. Receivers get keyword arguments only.
"""

from django.dispatch import Signal

# subscriber, plan, action ("activate" | "renew"), actor: a plan was sold to a subscriber.
plan_sold = Signal()

# payment, actor: a subscriber payment was received.
payment_received = Signal()

# payment, actor: a subscriber payment was cancelled (its money reversed).
payment_cancelled = Signal()
