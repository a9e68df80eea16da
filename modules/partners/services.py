"""The partners service API in one place (implemented in the modules named beside each group).

Admin pages, demo data, tests and other modules call these; business rules live behind them.
"""

from modules.partners.commissions import credit_commissions, reverse_commissions  # noqa: F401
from modules.partners.profiles import (  # noqa: F401
    PartnerError,
    create_partner,
    create_partner_user,
    ensure_profile,
    update_partner,
)
from modules.partners.settlements import (  # noqa: F401
    pay_settlement,
    reject_settlement,
    request_settlement,
    start_payout,
)
from modules.partners.sharing import share_plan, unshare_plan  # noqa: F401
from modules.partners.wallets import (  # noqa: F401
    approve_topup,
    charge_sale,
    recharge,
    reject_topup,
    request_topup,
)
