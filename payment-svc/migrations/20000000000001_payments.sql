-- payment-svc's own table; runs after the shared outbox and idempotency migrations.
-- Portable between SQLite and PostgreSQL: ids are uuid text made by the writer, times are
-- epoch milliseconds, enums are their API spelling as text.
--
-- order_id has no foreign key: orders live in order-svc's database, and this service accepts
-- a payment without asking whether the order exists (see docs/payment-svc.md).

create table payments (
    -- uuid v7, so ids sort by creation time
    id text primary key,
    order_id text not null,
    -- integer minor units of the currency
    amount_minor bigint not null check (amount_minor > 0),
    -- ISO 4217 code
    currency text not null,
    method text not null check (method in ('CARD', 'BANK_TRANSFER', 'WALLET')),
    status text not null check (status in ('AUTHORIZED', 'DECLINED', 'CAPTURED', 'REFUNDED')),
    decline_reason text,
    -- starts at 1 and grows by one per change; updates check it (optimistic concurrency)
    version bigint not null check (version >= 1),
    created_at_ms bigint not null,
    updated_at_ms bigint not null
);

-- GET /payments?order_id= lists one order's payments, oldest first
create index payments_by_order on payments (order_id, created_at_ms, id);
