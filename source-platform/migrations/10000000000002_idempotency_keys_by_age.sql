-- idempotency keys expire (IDEMPOTENCY_TTL_HOURS, 24 by default); the pruning delete finds the
-- expired ones by age without scanning the table
create index idempotency_keys_by_age on idempotency_keys (created_at_ms);
