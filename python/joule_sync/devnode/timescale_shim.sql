-- timescale_shim.sql: the TimescaleDB functions jouled (joule 1.0.1) calls, for plain PostgreSQL.
--
-- The dev node runs upstream jouled on Debian's PostgreSQL, which has no timescaledb extension.
-- These stand-ins cover exactly what jouled calls (grep of joule 1.0.1, models/data_store/*.py
-- and sql/*.sql):
--
--   create_hypertable('data.streamN[_L]', 'time', if_not_exists=>true)   stream/decimation tables
--   create_hypertable('data.eventN', 'start_time')                        event tables (chunked)
--   set_chunk_time_interval('data.streamN', <µs>)                         inserter, from data rate
--   drop_chunks('data.streamN[_L]', older_than=>'<ts>'::timestamp)        inexact remove
--   drop_chunks('data.streamN[_L]', older_than => interval 'N seconds')   keep-based cleanup
--   hypertable_detailed_size(<varchar>)                                   stream_info(): data_info.bytes
--   time_bucket_gapfill('<seconds>s', start_time)                         event histogram
-- plus time_bucket(), which is time_bucket_gapfill without the (unsupported) gap filling.
--
-- Semantics, and where they differ from TimescaleDB:
--   * A hypertable is an ordinary table recorded in _joule_sync_tsdb.hypertable with its time
--     column and chunk interval; there are no chunks.
--   * drop_chunks deletes exactly the rows with time < older_than and returns how many.
--     TimescaleDB drops only whole chunks that end before older_than, so it may keep some of those
--     rows; jouled accepts either (it calls drop_chunks only where an approximate result is fine).
--   * time_bucket / time_bucket_gapfill bucket like TimescaleDB (origin Monday 2000-01-03), via
--     PostgreSQL's date_bin (PostgreSQL >= 14), so month/year widths are refused.
--     time_bucket_gapfill cannot fill gaps (TimescaleDB does that in a planner node): the event
--     histogram lists only buckets that hold events.
--   * hypertable_detailed_size reports PostgreSQL's sizes of the table; one row of NULLs for a
--     table that is not a hypertable, like TimescaleDB 2.x.
--
-- Idempotent.  Apply it as the role that owns jouled's objects ("joule"), so that jouled's
-- "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO joule_module" can grant these too.

SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS _joule_sync_tsdb;

CREATE TABLE IF NOT EXISTS _joule_sync_tsdb.hypertable (
    relid             oid    PRIMARY KEY,
    time_column       name   NOT NULL,
    chunk_interval_us bigint NOT NULL
);

-- jouled's modules (role joule_module) reach hypertable_detailed_size through stream_info()
GRANT USAGE ON SCHEMA _joule_sync_tsdb TO PUBLIC;
GRANT SELECT ON _joule_sync_tsdb.hypertable TO PUBLIC;

-- The registry entry of a table, or an error like TimescaleDB's for one that is not registered.
CREATE OR REPLACE FUNCTION _joule_sync_tsdb.registered(rel regclass)
RETURNS _joule_sync_tsdb.hypertable
LANGUAGE plpgsql STABLE AS $$
DECLARE
    entry _joule_sync_tsdb.hypertable;
BEGIN
    SELECT * INTO entry FROM _joule_sync_tsdb.hypertable h WHERE h.relid = rel::oid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table "%" is not a hypertable', rel USING ERRCODE = 'TS102';
    END IF;
    RETURN entry;
END $$;

CREATE OR REPLACE FUNCTION public.create_hypertable(
    relation            regclass,
    time_column_name    name,
    chunk_time_interval bigint  DEFAULT 604800000000,  -- TimescaleDB's default: 7 days in µs
    if_not_exists       boolean DEFAULT false)
RETURNS TABLE(hypertable_id integer, schema_name name, table_name name, created boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    rel_schema name;
    rel_name   name;
BEGIN
    SELECT n.nspname, c.relname INTO rel_schema, rel_name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = relation::oid;
    -- jouled drops and recreates tables (decimation rebuilds): forget the dropped ones so a
    -- reused oid never inherits an old entry
    DELETE FROM _joule_sync_tsdb.hypertable h
     WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = h.relid);

    IF EXISTS (SELECT 1 FROM _joule_sync_tsdb.hypertable h WHERE h.relid = relation::oid) THEN
        IF if_not_exists THEN
            RETURN QUERY SELECT relation::oid::integer, rel_schema, rel_name, false;
            RETURN;
        END IF;
        RAISE EXCEPTION 'table "%" is already a hypertable', rel_name USING ERRCODE = 'TS110';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = relation::oid AND a.attname = time_column_name
                      AND a.attnum > 0 AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'column "%" does not exist', time_column_name
            USING ERRCODE = 'undefined_column';
    END IF;
    IF chunk_time_interval <= 0 THEN
        RAISE EXCEPTION 'invalid interval: must be between 1 and 9223372036854775807'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    INSERT INTO _joule_sync_tsdb.hypertable VALUES (relation::oid, time_column_name,
                                                    chunk_time_interval);
    RETURN QUERY SELECT relation::oid::integer, rel_schema, rel_name, true;
END $$;

CREATE OR REPLACE FUNCTION public.set_chunk_time_interval(
    hypertable regclass, chunk_time_interval bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM _joule_sync_tsdb.registered(hypertable);
    IF chunk_time_interval IS NULL OR chunk_time_interval <= 0 THEN
        RAISE EXCEPTION 'invalid interval: must be between 1 and 9223372036854775807'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE _joule_sync_tsdb.hypertable h SET chunk_interval_us = chunk_time_interval
     WHERE h.relid = hypertable::oid;
END $$;

CREATE OR REPLACE FUNCTION public.drop_chunks(relation regclass, older_than timestamp)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    entry   _joule_sync_tsdb.hypertable := _joule_sync_tsdb.registered(relation);
    deleted bigint;
BEGIN
    EXECUTE format('DELETE FROM %s WHERE %I < $1', relation, entry.time_column) USING older_than;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END $$;

-- "older than an interval" counts back from now; jouled's time columns are UTC TIMESTAMPs
CREATE OR REPLACE FUNCTION public.drop_chunks(relation regclass, older_than interval)
RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    SELECT public.drop_chunks(relation, (now() AT TIME ZONE 'UTC') - older_than)
$$;

-- stream_info() passes the table name as VARCHAR, which does not cast implicitly to regclass
CREATE OR REPLACE FUNCTION public.hypertable_detailed_size(hypertable text)
RETURNS TABLE(table_bytes bigint, index_bytes bigint, toast_bytes bigint, total_bytes bigint,
              node_name name)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    rel   regclass := hypertable::regclass;
    toast regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM _joule_sync_tsdb.hypertable h WHERE h.relid = rel::oid) THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::name;
        RETURN;
    END IF;
    SELECT nullif(c.reltoastrelid, 0)::regclass INTO toast FROM pg_class c WHERE c.oid = rel::oid;
    RETURN QUERY SELECT
        pg_relation_size(rel) + pg_relation_size(rel, 'fsm') + pg_relation_size(rel, 'vm'),
        pg_indexes_size(rel),
        coalesce(pg_total_relation_size(toast), 0),
        pg_total_relation_size(rel),
        NULL::name;
END $$;

CREATE OR REPLACE FUNCTION public.time_bucket(bucket_width interval, ts timestamp)
RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT date_bin(bucket_width, ts, TIMESTAMP '2000-01-03 00:00:00')
$$;

CREATE OR REPLACE FUNCTION public.time_bucket(bucket_width interval, ts timestamptz)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT date_bin(bucket_width, ts, TIMESTAMPTZ '2000-01-03 00:00:00+00')
$$;

CREATE OR REPLACE FUNCTION public.time_bucket_gapfill(bucket_width interval, ts timestamp)
RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT public.time_bucket(bucket_width, ts)
$$;

CREATE OR REPLACE FUNCTION public.time_bucket_gapfill(bucket_width interval, ts timestamptz)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT public.time_bucket(bucket_width, ts)
$$;
