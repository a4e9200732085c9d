-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d):
-- one database per source service, each service owns its own, and one for order-history's
-- statistics read model.
CREATE DATABASE orders;
CREATE DATABASE payments;
CREATE DATABASE shipments;
CREATE DATABASE order_history_stats;
