-- The schema version an outbox row's datum was written with, for a service that can publish
-- another version of its topic's schema (the contract drill); null is the compiled-in schema.
alter table outbox add column schema_version text;
