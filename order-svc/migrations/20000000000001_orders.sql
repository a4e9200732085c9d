-- The orders of order-svc. Portable between SQLite and PostgreSQL, like the shared migrations:
-- ids are uuids written as text by the service, times are epoch milliseconds, money is integer
-- minor units.

create table orders (
    -- uuid v7, hyphenated lowercase
    id text primary key,
    customer_id text not null,
    customer_name text not null,
    customer_email text not null,
    -- ISO 4217; every amount of the order is in this currency
    currency text not null,
    -- JSON array of {sku, name, quantity, unit_price_minor}; always read and written whole
    items text not null,
    total_minor bigint not null check (total_minor >= 0),
    shipping_line1 text not null,
    shipping_line2 text,
    shipping_city text not null,
    shipping_postal_code text not null,
    -- ISO 3166-1 alpha-2
    shipping_country text not null,
    status text not null check (status in ('PLACED', 'CANCELLED')),
    -- 1 when placed, one more per change; the optimistic lock and the events' aggregate_version
    version bigint not null check (version >= 1),
    created_at_ms bigint not null,
    cancelled_at_ms bigint,
    cancellation_reason text,
    check ((status = 'CANCELLED') = (cancelled_at_ms is not null))
);

-- GET /orders: newest first, (created_at, id) as the keyset
create index orders_newest_first on orders (created_at_ms desc, id desc);
-- GET /orders?customer_id=: the same order within one customer
create index orders_by_customer_newest_first on orders (customer_id, created_at_ms desc, id desc);
