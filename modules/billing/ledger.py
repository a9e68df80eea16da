"""The ledger service: the only code that changes a wallet's balance.

Every change locks the wallet rows (SELECT ... FOR UPDATE, in primary-key order so two
transfers in opposite directions cannot deadlock), checks the floor (zero, or the credit limit),
writes one immutable entry per wallet and stores the new balance: the balance always equals the
sum of the wallet's entries. Other modules (partner recharge, commissions) build on `post`,
`post_many` and `transfer`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction

from modules.billing import bulk
from modules.billing.models import LedgerEntry, Wallet
from modules.billing.money import BillingError, check_currency, parse_amount
from modules.billing.selectors import billing_settings, tenant_currency

Kind = LedgerEntry.Kind


def subscriber_wallet(subscriber) -> Wallet:
    """The subscriber's wallet, created on first use (race-safe)."""
    found = Wallet.objects.filter(subscriber_id=subscriber.pk).first()
    if found:
        return found
    wallet = Wallet(
        tenant_id=subscriber.tenant_id,
        organization_id=subscriber.organization_id,
        subscriber_id=subscriber.pk,
        currency=tenant_currency(subscriber.tenant_id),
    )
    return _create_once(wallet, subscriber_id=subscriber.pk)


def organization_wallet(organization) -> Wallet:
    """A partner's (organization node's) own wallet, created on first use (race-safe)."""
    found = Wallet.objects.filter(owner_organization_id=organization.pk).first()
    if found:
        return found
    wallet = Wallet(
        tenant_id=organization.tenant_id,
        organization_id=organization.pk,
        owner_organization_id=organization.pk,
        currency=tenant_currency(organization.tenant_id),
    )
    return _create_once(wallet, owner_organization_id=organization.pk)


def _create_once(wallet: Wallet, **lookup) -> Wallet:
    Wallet.objects.bulk_create([wallet], ignore_conflicts=True)
    return Wallet.objects.get(**lookup)


def floor(wallet: Wallet, settings=None) -> Decimal | None:
    """The lowest balance the wallet may reach."""
    if wallet.credit_limit is not None:
        return -wallet.credit_limit
    if wallet.subscriber_id:
        settings = settings or billing_settings(wallet.tenant_id)
        if settings.allow_negative_balance:
            return -settings.subscriber_credit_limit
    return Decimal("0")


def available(wallet: Wallet, settings=None) -> Decimal:
    """Money the wallet can spend now (balance above its floor)."""
    return max(wallet.balance - floor(wallet, settings), Decimal("0"))


def lock_subscriber_wallet(subscriber) -> Wallet:
    """Lock the subscriber's wallet first thing in a money transaction.

    The lock order everywhere is: wallet, then subscriber row, then document counter, then
    invoice rows. Taking the wallet first serializes one subscriber's money work and keeps
    threads that touch different rows from deadlocking.
    """
    wallet = subscriber_wallet(subscriber)
    return lock(wallet.pk)[wallet.pk]


def lock(*wallet_ids: int) -> dict[int, Wallet]:
    """Lock wallets in primary-key order; must run inside a transaction."""
    rows = Wallet.objects.select_for_update().filter(pk__in=set(wallet_ids)).order_by("pk")
    return {w.pk: w for w in rows}


@dataclass
class Posting:
    wallet_id: int
    amount: Decimal  # signed: positive credits, negative debits
    kind: str
    source: object | None = None
    memo: str = ""


@transaction.atomic
def post_many(
    postings: list[Posting], *, actor=None, transfer_group=None, settings=None
) -> list[LedgerEntry]:
    """Apply several postings at once (all or nothing): lock, check floors, write, balances."""
    if not postings:
        return []
    wallets = lock(*(p.wallet_id for p in postings))
    balances = {pk: w.balance for pk, w in wallets.items()}
    entries = []
    for p in postings:
        wallet = wallets.get(p.wallet_id)
        if wallet is None:
            raise BillingError("Wallet not found.")
        if p.amount == 0:
            raise BillingError("A ledger entry needs a non-zero amount.")
        parse_amount(abs(p.amount), wallet.currency)
        new_balance = balances[wallet.pk] + p.amount
        minimum = floor(wallet, settings)
        if p.amount < 0 and minimum is not None and new_balance < minimum:
            raise BillingError(
                f"Insufficient balance in {wallet}: {balances[wallet.pk]} {wallet.currency} "
                f"available above the limit of {minimum}, {-p.amount} needed."
            )
        balances[wallet.pk] = new_balance
        source_type = source_id = None
        if p.source is not None:
            source_type = ContentType.objects.get_for_model(p.source)
            source_id = p.source.pk
        entries.append(
            LedgerEntry(
                tenant_id=wallet.tenant_id,
                organization_id=wallet.organization_id,
                wallet=wallet,
                kind=p.kind,
                amount=p.amount,
                balance_after=new_balance,
                source_type=source_type,
                source_id=source_id,
                transfer_group=transfer_group,
                memo=p.memo[:255],
                actor=actor,
            )
        )
    bulk.insert(LedgerEntry, entries)
    _store_balances({pk: balances[pk] for pk in wallets if balances[pk] != wallets[pk].balance})
    for pk, wallet in wallets.items():
        wallet.balance = balances[pk]
    return entries


def debit_locked(
    wallets: dict[int, Wallet],
    debits: list[tuple[int, Decimal, int, str]],
    kind: str,
    source_model,
    *,
    settings=None,
) -> None:
    """`post_many` of debits for a batch job that already holds the wallets' row locks (the
    renewal run locks them with its subscribers): the same amount and floor checks, the
    entries written as rows without model instances. `debits` are (wallet id, amount to take,
    source id, memo); the wallets' balances are updated in place."""
    if not debits:
        return
    source_type_id = ContentType.objects.get_for_model(source_model).pk
    balances = {pk: w.balance for pk, w in wallets.items()}
    floors, checked, rows = {}, set(), []
    for wallet_id, amount, source_id, memo in debits:
        wallet = wallets.get(wallet_id)
        if wallet is None:
            raise BillingError("Wallet not found.")
        if (amount, wallet.currency) not in checked:  # a batch repeats a few prices
            parse_amount(amount, wallet.currency)
            checked.add((amount, wallet.currency))
        if wallet_id not in floors:
            floors[wallet_id] = floor(wallet, settings)
        new_balance = balances[wallet_id] - amount
        minimum = floors[wallet_id]
        if minimum is not None and new_balance < minimum:
            raise BillingError(
                f"Insufficient balance in {wallet}: {balances[wallet_id]} {wallet.currency} "
                f"available above the limit of {minimum}, {amount} needed."
            )
        balances[wallet_id] = new_balance
        rows.append((wallet.tenant_id, wallet.organization_id, wallet_id, -amount, new_balance,
                     source_id, memo[:255]))
    bulk.copy_rows(
        LedgerEntry,
        ("tenant_id", "organization_id", "wallet_id", "amount", "balance_after", "source_id",
         "memo"),
        rows,
        fixed={"kind": kind, "source_type_id": source_type_id},
    )
    changed = {pk: bal for pk, bal in balances.items() if bal != wallets[pk].balance}
    _store_balances(changed)
    for pk, bal in changed.items():
        wallets[pk].balance = bal


def _store_balances(balances: dict[int, Decimal]) -> None:
    if not balances:
        return
    table = Wallet._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            # Table name from model meta and %s placeholders only: no user text in the SQL.
            f"UPDATE {table} AS w SET balance = v.balance "  # noqa: S608
            "FROM unnest(%s::bigint[], %s::numeric[]) AS v(id, balance) "
            "WHERE w.id = v.id",
            [list(balances), list(balances.values())],
        )


def post(
    wallet: Wallet,
    amount: Decimal,
    kind: str,
    *,
    actor=None,
    source=None,
    memo="",
    currency: str | None = None,
) -> LedgerEntry:
    """One signed entry on one wallet (credit if positive, debit if negative)."""
    check_currency(currency, wallet.currency)
    entry = post_many([Posting(wallet.pk, amount, kind, source, memo)], actor=actor)[0]
    wallet.balance = entry.balance_after
    return entry


def credit(wallet, amount, kind=Kind.ADJUSTMENT, **kwargs) -> LedgerEntry:
    return post(wallet, parse_amount(amount, wallet.currency), kind, **kwargs)


def debit(wallet, amount, kind=Kind.ADJUSTMENT, **kwargs) -> LedgerEntry:
    return post(wallet, -parse_amount(amount, wallet.currency), kind, **kwargs)


def transfer(
    from_wallet: Wallet,
    to_wallet: Wallet,
    amount,
    *,
    actor=None,
    source=None,
    memo="",
    kind=Kind.TRANSFER,
) -> tuple[LedgerEntry, LedgerEntry]:
    """Move money between two wallets of one tenant and currency (e.g. partner recharge)."""
    if from_wallet.pk == to_wallet.pk:
        raise BillingError("A transfer needs two different wallets.")
    if from_wallet.tenant_id != to_wallet.tenant_id:
        raise BillingError("Wallets of different ISPs cannot exchange money.")
    check_currency(to_wallet.currency, from_wallet.currency)
    value = parse_amount(amount, from_wallet.currency)
    group = uuid.uuid4()
    out, into = post_many(
        [
            Posting(from_wallet.pk, -value, kind, source, memo),
            Posting(to_wallet.pk, value, kind, source, memo),
        ],
        actor=actor,
        transfer_group=group,
    )
    from_wallet.balance, to_wallet.balance = out.balance_after, into.balance_after
    return out, into
