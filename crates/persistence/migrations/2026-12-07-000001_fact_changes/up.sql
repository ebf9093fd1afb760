-- The figures are computed by the domain's rules over facts read from the core tables: nothing
-- derived is stored any more. What replaces the derived figures is a log of what each write touched,
-- from which every server's read model catches up before it answers (see
-- crates/persistence/src/read_model/log.rs).
DROP TRIGGER sources_mark_belligerent ON sources;
DROP TRIGGER incident_links_mark_unlinked ON incident_links;
DROP TRIGGER incident_links_mark_linked ON incident_links;
DROP TRIGGER incidents_mark_pending ON incidents;
DROP TRIGGER assessments_mark_pending ON assessments;
DROP FUNCTION derived_mark_belligerent();
DROP FUNCTION derived_mark_linked();
DROP FUNCTION derived_mark_updated();
DROP FUNCTION derived_mark_assessed();
DROP SCHEMA derived CASCADE;
DROP FUNCTION civcas_tier(text);

-- One row per incident a transaction touched, or a NULL incident when it touched the sources or the
-- statements, which a read model reads whole. `txid` tells a reader which rows its snapshot sees
-- and which transactions may still commit below it. No key: writers only append, so that
-- concurrent writes never wait on one another here.
CREATE TABLE fact_changes (
    txid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    incident_id bigint,
    logged_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fact_changes_txid_idx ON fact_changes (txid);

-- Rows of transactions below `txid` may have been deleted: a read model that has not caught up to
-- it reads every fact again.
CREATE TABLE fact_changes_horizon (
    single boolean PRIMARY KEY DEFAULT true CHECK (single),
    txid   xid8 NOT NULL
);
INSERT INTO fact_changes_horizon (txid) VALUES ('0');

-- What a write touches: an incident's assessments, its links (both ends), its own columns; and the
-- sources and statements. Statement-level, so that an import logs its batch with one insert.
CREATE FUNCTION log_assessed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fact_changes (incident_id)
    SELECT incident_id FROM touched
    UNION SELECT duplicate_of FROM touched WHERE duplicate_of IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER assessments_log AFTER INSERT ON assessments
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION log_assessed();

CREATE FUNCTION log_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fact_changes (incident_id) SELECT id FROM touched;
    RETURN NULL;
END
$$;
CREATE TRIGGER incidents_log AFTER UPDATE ON incidents
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION log_updated();

CREATE FUNCTION log_linked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fact_changes (incident_id)
    SELECT low_incident_id FROM touched UNION SELECT high_incident_id FROM touched;
    RETURN NULL;
END
$$;
CREATE TRIGGER incident_links_log_linked AFTER INSERT ON incident_links
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION log_linked();
CREATE TRIGGER incident_links_log_unlinked AFTER DELETE ON incident_links
    REFERENCING OLD TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION log_linked();

CREATE FUNCTION log_read_whole() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fact_changes (incident_id) VALUES (NULL);
    RETURN NULL;
END
$$;
CREATE TRIGGER sources_log AFTER INSERT OR UPDATE ON sources
    FOR EACH STATEMENT EXECUTE FUNCTION log_read_whole();
CREATE TRIGGER statements_log AFTER INSERT ON statements
    FOR EACH STATEMENT EXECUTE FUNCTION log_read_whole();
