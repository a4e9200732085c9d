-- Every distinct schema ever registered. Ids are global across subjects and never reused:
-- AUTOINCREMENT keeps an id retired even if its row were ever removed, and Kafka records
-- carry these ids forever.
CREATE TABLE schemas (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- the normalized JSON of the parsed schema: two texts with the same fingerprint are
    -- the same schema, whatever their whitespace or key order
    fingerprint TEXT NOT NULL UNIQUE,
    -- the text as first registered, returned verbatim to readers
    schema      TEXT NOT NULL
);

-- The versions of each subject. Soft-deleted versions stay (deleted = 1) until a permanent
-- delete, so version numbers are not reused and old records stay decodable.
CREATE TABLE subject_versions (
    subject   TEXT    NOT NULL,
    version   INTEGER NOT NULL CHECK (version > 0),
    schema_id INTEGER NOT NULL REFERENCES schemas (id),
    deleted   INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    PRIMARY KEY (subject, version)
);

CREATE INDEX subject_versions_by_schema_id ON subject_versions (schema_id);

-- The global compatibility level; no row means Confluent's default, BACKWARD.
CREATE TABLE global_config (
    singleton           INTEGER PRIMARY KEY CHECK (singleton = 1),
    compatibility_level TEXT NOT NULL
);

CREATE TABLE subject_config (
    subject             TEXT PRIMARY KEY,
    compatibility_level TEXT NOT NULL
);
