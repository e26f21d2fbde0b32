-- faultline DuckDB schema, version 5 (rollups, change_events and edge_minutes below). Created and migrated by ingest/store
-- (store.go; the data steps of each version are in migrate_v<N>.sql).
-- Files are in DuckDB's storage format v1.5.0 (store.storageVersion), which
-- compresses long strings with ZSTD: see attributes below.
-- The events column order equals transform.Schema so Arrow batches insert
-- with INSERT INTO events SELECT * FROM <arrow view>. New columns go last
-- (ALTER TABLE ... ADD COLUMN appends), so files of every version keep one
-- column order.

CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);

-- One row per normalized event. No primary key: uniqueness comes from the
-- exactly-once commit protocol (events and offsets in one transaction).
CREATE TABLE IF NOT EXISTS events (
    event_id        VARCHAR NOT NULL,
    time            TIMESTAMPTZ NOT NULL,
    observed_time   TIMESTAMPTZ NOT NULL,
    source          VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    service         VARCHAR,
    operation       VARCHAR,
    region          VARCHAR,
    account_id      VARCHAR,
    resource        VARCHAR,
    actor           VARCHAR,
    severity_number INTEGER,
    severity_text   VARCHAR,
    status          VARCHAR,
    error_code      VARCHAR,
    message         VARCHAR,
    request_id      VARCHAR,
    trace_id        VARCHAR,
    change_type     VARCHAR,
    risk_class      VARCHAR,
    peer_service    VARCHAR,
    -- ZSTD (version 3): DuckDB 1.5's automatic choice (FSST, dictionary)
    -- gains little on objects of ~1 KB with ids in them, or stores them
    -- uncompressed; ZSTD takes them to about a quarter (docs/benchmarks.md).
    attributes      JSON USING COMPRESSION zstd,
    src_topic       VARCHAR,
    src_partition   INTEGER,
    src_offset      BIGINT,
    src_file        VARCHAR,
    src_index       INTEGER,
    cloud_provider  VARCHAR           -- version 2: aws, gcp, azure (OpenTelemetry cloud.provider)
);
-- Version 1 files gain the column in place; migrate_v2.sql fills it.
ALTER TABLE events ADD COLUMN IF NOT EXISTS cloud_provider VARCHAR;

-- Records that could not be decoded, with their raw bytes and why.
CREATE TABLE IF NOT EXISTS dead_letters (
    time          TIMESTAMPTZ NOT NULL,   -- when it was dead-lettered
    reason        VARCHAR NOT NULL,       -- machine-readable (transform.Reason*)
    message       VARCHAR NOT NULL,       -- what was wrong and what to do
    format        VARCHAR,
    raw           BLOB,                   -- capped; raw_size is the original size
    raw_size      BIGINT NOT NULL,
    src_topic     VARCHAR,
    src_partition INTEGER,
    src_offset    BIGINT,
    src_file      VARCHAR,
    src_index     INTEGER
);

-- Next offset to read per Kafka partition (or next record per file). Written
-- in the same transaction as the events it covers: the source of truth for
-- where ingest resumes.
CREATE TABLE IF NOT EXISTS ingest_offsets (
    source      VARCHAR NOT NULL,  -- "kafka:<topic>" or "file:<path>"
    part        INTEGER NOT NULL,  -- Kafka partition; 0 for files
    next_offset BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, part)
);
-- Files only: identifies the content that next_offset refers to
-- ("size:sha256"); a different fingerprint means the file changed and is
-- reloaded from the start (see docs/ingest.md).
ALTER TABLE ingest_offsets ADD COLUMN IF NOT EXISTS fingerprint VARCHAR;

-- Version 4: tables kept by the sink in the same transaction as the events
-- they are computed from (rollups.sql), so the correlation reads kilobytes
-- instead of scanning events. Every row carries the source position range
-- of the commit that wrote it: src ("kafka:<topic>" or "file:<path>", as in
-- ingest_offsets.source), part, and [first_offset, next_offset). The rows of
-- one commit and partition are one unit (docs/schema.md, Rollups). Several
-- rows may share a key (a late event adds a row to its minute): readers sum.
-- No primary keys, for the same reason as events.

-- Errors (kind = 'error') per minute and key.
CREATE TABLE IF NOT EXISTS error_minutes (
    src            VARCHAR NOT NULL,
    part           INTEGER NOT NULL,
    first_offset   BIGINT NOT NULL,
    next_offset    BIGINT NOT NULL,
    minute         TIMESTAMPTZ NOT NULL,  -- the events' time truncated to the minute
    service        VARCHAR,
    region         VARCHAR,
    cloud_provider VARCHAR,
    error_code     VARCHAR,
    peer_service   VARCHAR,
    role           VARCHAR,               -- 'role:<name>/<session>' of a CloudTrail error made by an assumed role
    errors         BIGINT NOT NULL,
    first_time     TIMESTAMPTZ NOT NULL,  -- the earliest and latest time of the rolled-up errors
    last_time      TIMESTAMPTZ NOT NULL
);

-- Events of every kind per minute, service, region and kind.
CREATE TABLE IF NOT EXISTS activity_minutes (
    src            VARCHAR NOT NULL,
    part           INTEGER NOT NULL,
    first_offset   BIGINT NOT NULL,
    next_offset    BIGINT NOT NULL,
    minute         TIMESTAMPTZ NOT NULL,
    service        VARCHAR,
    region         VARCHAR,
    cloud_provider VARCHAR,
    kind           VARCHAR NOT NULL,
    events         BIGINT NOT NULL,
    first_time     TIMESTAMPTZ NOT NULL,
    last_time      TIMESTAMPTZ NOT NULL
);

-- The change events (kind = 'change', about 2% of events): the events'
-- columns in their order, then the commit's range.
-- (Same columns as events: a new events column goes here too.)
CREATE TABLE IF NOT EXISTS change_events (
    event_id        VARCHAR NOT NULL,
    time            TIMESTAMPTZ NOT NULL,
    observed_time   TIMESTAMPTZ NOT NULL,
    source          VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    service         VARCHAR,
    operation       VARCHAR,
    region          VARCHAR,
    account_id      VARCHAR,
    resource        VARCHAR,
    actor           VARCHAR,
    severity_number INTEGER,
    severity_text   VARCHAR,
    status          VARCHAR,
    error_code      VARCHAR,
    message         VARCHAR,
    request_id      VARCHAR,
    trace_id        VARCHAR,
    change_type     VARCHAR,
    risk_class      VARCHAR,
    peer_service    VARCHAR,
    attributes      JSON USING COMPRESSION zstd,
    src_topic       VARCHAR,
    src_partition   INTEGER,
    src_offset      BIGINT,
    src_file        VARCHAR,
    src_index       INTEGER,
    cloud_provider  VARCHAR,
    src             VARCHAR NOT NULL,
    part            INTEGER NOT NULL,
    first_offset    BIGINT NOT NULL,
    next_offset     BIGINT NOT NULL
);

-- Version 5: the dependency evidence in the events per minute (what the
-- topology infers its edges from; transform.DependencyEvidence, origins in
-- docs/correlation.md): from_service depends on what ref names, seen in
-- `events` events of that minute. Kept like the tables above.
CREATE TABLE IF NOT EXISTS edge_minutes (
    src          VARCHAR NOT NULL,
    part         INTEGER NOT NULL,
    first_offset BIGINT NOT NULL,
    next_offset  BIGINT NOT NULL,
    minute       TIMESTAMPTZ NOT NULL,
    from_service VARCHAR NOT NULL,  -- '' for association
    origin       VARCHAR NOT NULL,  -- attribute, peer_service, message, config_relationship, cloudtrail_role, association
    ref          VARCHAR NOT NULL,
    events       BIGINT NOT NULL
);

-- The changes view keeps the events' columns (analysts' SQL is unchanged).
CREATE OR REPLACE VIEW changes AS SELECT * EXCLUDE (src, part, first_offset, next_offset) FROM change_events;
CREATE OR REPLACE VIEW errors  AS SELECT * FROM events WHERE kind = 'error';

-- Dead letters per reason, for operations (docs/ingest.md).
CREATE OR REPLACE VIEW dead_letter_summary AS
SELECT reason, count(*) AS n, min(time) AS first_seen, max(time) AS last_seen,
       count(DISTINCT coalesce(src_topic, src_file)) AS sources
FROM dead_letters GROUP BY reason;

-- Relay (docs/operations.md, Account-wide answers; ingest/relay).
-- relay_outbox: written by the sink in the same transaction as the events
-- when the relay is on, one row per Kafka partition of a commit: its
-- offset range, the consumer group generation that read it, the
-- per-minute counts of errors and of CloudTrail calls by roles (counts) and
-- the changes, Health, Config and alarm events whole (rows), as JSON
-- (relay_outbox.sql). The relay publishes a row to the relay topic and
-- then deletes it.
CREATE TABLE IF NOT EXISTS relay_outbox (
    src          VARCHAR NOT NULL,   -- "kafka:<topic>"
    part         INTEGER NOT NULL,
    first_offset BIGINT NOT NULL,    -- offset of the unit's first event
    next_offset  BIGINT NOT NULL,    -- the partition's position after the commit
    generation   INTEGER NOT NULL,
    counts       JSON NOT NULL,
    rows         JSON NOT NULL
);
-- relay_units: in a process that consumes the relay topic, the units whose
-- rows it holds in events (src_topic, src_partition, src_offset within
-- [first_offset, next_offset)).
CREATE TABLE IF NOT EXISTS relay_units (
    src          VARCHAR NOT NULL,
    part         INTEGER NOT NULL,
    first_offset BIGINT NOT NULL,
    next_offset  BIGINT NOT NULL,
    generation   INTEGER NOT NULL,
    node         VARCHAR NOT NULL,
    PRIMARY KEY (src, part, first_offset)
);
