"""Billing's domain events, sent inside the money transaction so a receiver's refusal
(raising BillingError) rolls the whole operation back. Receivers get keyword arguments only.
"""

from django.dispatch import Signal

# subscriber, plan, action ("activate" | "renew"), actor: a plan was sold to a subscriber.
# In the auto-renewal run it is sent with batch=True for each sale before the batch is renewed:
# a receiver may still refuse that one sale (raise before writing anything), and does its
# writing for the batch in `plans_sold` (the partners' wallet debit does).
plan_sold = Signal()

# sales (list of (subscriber, plan)), action ("renew"), actor: the sales of a batch renewed at
# once (the auto-renewal run), for receivers that write in bulk; a refusal (BillingError) rolls
# the batch back and the run renews its subscribers one by one instead.
plans_sold = Signal()

# payment, actor: a subscriber payment was received.
payment_received = Signal()

# payment, actor: a subscriber payment was cancelled (its money reversed).
payment_cancelled = Signal()
