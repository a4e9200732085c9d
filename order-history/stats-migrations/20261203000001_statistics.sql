-- The statistics read model: hourly rollups, each order's merged state (its last
-- contribution is a function of it), and the checkpoint the rollups cover. One transaction
-- writes all four, so the rollups and their position never disagree.
create table if not exists stats_orders (
    order_id text primary key,
    -- the order's merged document (order-view's rules), JSON
    document text not null
);

create table if not exists stats_rollup (
    hour_ms bigint not null,
    dimension text not null,
    key text not null,
    currency text not null,
    orders bigint not null,
    revenue_minor bigint not null,
    primary key (hour_ms, dimension, key, currency)
);

create table if not exists stats_products (
    hour_ms bigint not null,
    sku text not null,
    quantity bigint not null,
    primary key (hour_ms, sku)
);

create table if not exists stats_checkpoint (
    topic text not null,
    partition_id bigint not null,
    next_offset bigint not null,
    primary key (topic, partition_id)
);

-- one row: the newest event time the rollups cover
create table if not exists stats_meta (
    id bigint primary key,
    as_of_ms bigint not null
);
