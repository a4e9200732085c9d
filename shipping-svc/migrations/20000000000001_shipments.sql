-- shipping-svc's own table; runs after the shared outbox and idempotency migration.
-- Portable between SQLite and PostgreSQL: ids are text written by the service, times are epoch
-- milliseconds, and there are no foreign keys (the order lives in order-svc, another database).

create table shipments (
    -- uuid v7 from the service, so ids sort in creation order
    id text primary key,
    -- the order this shipment delivers; deliberately not checked against order-svc
    order_id text not null,
    carrier text not null,
    tracking_number text not null,
    address_line1 text not null,
    address_line2 text,
    address_city text not null,
    address_postal_code text not null,
    -- iso 3166-1 alpha-2
    address_country text not null,
    status text not null check (status in ('CREATED', 'DISPATCHED', 'IN_TRANSIT', 'DELIVERED', 'RETURNED')),
    last_location text,
    note text,
    -- grows by exactly one per change; updates check it (optimistic concurrency)
    version bigint not null check (version >= 1),
    created_at_ms bigint not null,
    updated_at_ms bigint not null,
    check (updated_at_ms >= created_at_ms)
);

-- GET /shipments?order_id= lists one order's shipments oldest first
create index shipments_by_order on shipments (order_id, created_at_ms, id);

-- a tracking number identifies one parcel; the service retries generation on a collision
create unique index shipments_tracking_number on shipments (tracking_number);
