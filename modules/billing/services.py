"""The billing service API in one place (implemented in the modules named beside each group).

Other modules import from here: `from modules.billing import services as billing`.
"""

from modules.billing.cancellations import (  # noqa: F401
    approve_cancellation,
    reject_cancellation,
    request_cancellation,
)
from modules.billing.invoicing import (  # noqa: F401
    BillingContext,
    apply_advance,
    create_invoice,
    create_proforma,
    issue_credit_note,
    issue_invoice,
    plan_line,
)
from modules.billing.ledger import (  # noqa: F401
    Posting,
    available,
    credit,
    debit,
    organization_wallet,
    post,
    post_many,
    subscriber_wallet,
    transfer,
)
from modules.billing.money import BillingError  # noqa: F401
from modules.billing.orchestration import (  # noqa: F401
    activate_and_bill,
    add_plan_item_and_bill,
    change_plan_and_bill,
    convert_proforma,
    renew_and_bill,
)
from modules.billing.payments import allocate, record_payment  # noqa: F401
