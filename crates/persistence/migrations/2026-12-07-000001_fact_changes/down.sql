-- Back to the derived figures: the log goes, and the migrations that built the derived schema run
-- again in their order.
DROP TRIGGER statements_log ON statements;
DROP TRIGGER sources_log ON sources;
DROP TRIGGER incident_links_log_unlinked ON incident_links;
DROP TRIGGER incident_links_log_linked ON incident_links;
DROP TRIGGER incidents_log ON incidents;
DROP TRIGGER assessments_log ON assessments;
DROP FUNCTION log_read_whole();
DROP FUNCTION log_linked();
DROP FUNCTION log_updated();
DROP FUNCTION log_assessed();
DROP TABLE fact_changes_horizon;
DROP TABLE fact_changes;

-- 2026-11-24-000001_derived_figures
-- Derived figures: rules 2 to 5 for the present (no `as_of`, every source, no incident filter),
-- precomputed per cluster and summed per interval of days, so that such a query reads a few rows
-- per day of its window instead of every assessment in it. Everything here can be rebuilt from the core
-- tables, which stay the truth: a query uses these tables only when no write is pending.
--
-- Writers do not maintain them; triggers record which incidents a write touched (`pending`), and a
-- refresh (src/sql/refresh_derived.sql) recomputes those incidents' clusters in one REPEATABLE READ
-- transaction. So the tables always describe one committed snapshot, and a reader that finds no
-- pending incident in its own snapshot knows that they describe exactly what it sees.
CREATE SCHEMA derived;

-- The tiers as numbers, as the figure queries compare them: 4 ESTABLISHED, 3 LIKELY, 2 ALLEGED,
-- 1 REJECTED (DUPLICATE grades nothing, and callers leave it out). A plain SQL expression, which the
-- planner inlines.
CREATE FUNCTION civcas_tier(verdict text) RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE verdict WHEN 'confirmed' THEN 4 WHEN 'credible' THEN 4 WHEN 'fair' THEN 3
                        WHEN 'weak' THEN 2 WHEN 'contested' THEN 2 WHEN 'open' THEN 2
                        ELSE 1 END::smallint
$$;

-- Incidents whose figures changed since the last refresh. No key: writers only append, so that
-- concurrent writes never wait on one another here.
CREATE TABLE derived.pending (incident_id bigint NOT NULL);

-- The members of every cluster of two or more incidents; an incident not listed is its own cluster,
-- whose id is its own. A cluster's id is its smallest member's.
CREATE TABLE derived.cluster_members (
    incident_id bigint PRIMARY KEY,
    cluster_id  bigint NOT NULL
);
CREATE INDEX cluster_members_cluster_idx ON derived.cluster_members (cluster_id);

-- Rule 4 per cluster and tier, for the clusters some source puts at that tier or higher: the figure
-- (k_ killed, j_ injured: smallest min, largest max, whether any is unbounded), with what rule 5 and
-- the window need. `span` runs from the first member's start to the last one's end; `members` holds
-- the members' own dates, which may leave gaps.
CREATE TABLE derived.cluster_tiers (
    cluster_id  bigint NOT NULL,
    tier        smallint NOT NULL,
    span        daterange NOT NULL,
    members     datemultirange NOT NULL,
    disputed    boolean NOT NULL,
    -- Sources with a current assessment of a member, of any verdict; and the members' belligerents.
    covered     text[] NOT NULL,
    parties     text[] NOT NULL,
    k_min       bigint,
    k_max       bigint,
    k_unbounded boolean NOT NULL,
    j_min       bigint,
    j_max       bigint,
    j_unbounded boolean NOT NULL,
    PRIMARY KEY (cluster_id, tier)
);

-- The clusters the figures list by id, the first 100 of those meeting a window: the disputed ones
-- (list '') and each source's coverage gaps (list: the source's id), one row per run of the
-- cluster's members, so that a window finds those with a run starting in it, month by month. Gaps
-- are kept for every source in `gap_sources` (a refresh adds the sources registered since); whether
-- one counts (the source has assessed something; the cluster is its party's) is decided when a query
-- reads it.
CREATE TABLE derived.gap_sources (source_id text PRIMARY KEY);
CREATE TABLE derived.listed_runs (
    list       text NOT NULL,
    cluster_id bigint NOT NULL,
    -- The first day of the month the run starts in.
    month      date NOT NULL,
    first      date NOT NULL,
    last       date NOT NULL,
    parties    text[] NOT NULL,
    PRIMARY KEY (list, month, cluster_id, first)
);
CREATE INDEX listed_runs_list_idx ON derived.listed_runs (list, cluster_id);
CREATE INDEX listed_runs_cluster_idx ON derived.listed_runs (cluster_id);
CREATE INDEX listed_runs_runs_idx ON derived.listed_runs USING gist (daterange(first, last, '[]'));

-- The first 100 ids of the clusters on `list` that meet [w_from, w_to] (a run starts in it, or holds
-- its first day and the day before), and that have a member attributed to `party` when one is given.
CREATE FUNCTION derived.first_listed(list text, party text, w_from date, w_to date) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN w_to - w_from < 400 THEN ARRAY(
        -- A short window: each month's first ids, merged. Its clusters may be few among the list's.
        SELECT DISTINCT cluster_id FROM (
            SELECT m.cluster_id
            FROM generate_series(date_trunc('month', w_from)::timestamp, w_to::timestamp, interval '1 month') AS month
            CROSS JOIN LATERAL (
                SELECT DISTINCT r.cluster_id FROM derived.listed_runs r
                WHERE r.list = first_listed.list AND r.month = month::date
                  AND r.first BETWEEN w_from AND w_to AND (party IS NULL OR party = ANY (r.parties))
                ORDER BY r.cluster_id LIMIT 100
            ) m
            UNION ALL
            SELECT r.cluster_id FROM derived.listed_runs r
            WHERE r.list = first_listed.list
              AND daterange(r.first, r.last, '[]') @> daterange(w_from - 1, w_from, '[]')
              AND (party IS NULL OR party = ANY (r.parties))
        ) candidates
        ORDER BY cluster_id LIMIT 100
    ) ELSE ARRAY(
        -- A long window holds a good share of the list: walk it in id order until 100 are found.
        SELECT DISTINCT r.cluster_id FROM derived.listed_runs r
        WHERE r.list = first_listed.list
          AND (r.first BETWEEN w_from AND w_to
               OR daterange(r.first, r.last, '[]') @> daterange(w_from - 1, w_from, '[]'))
          AND (party IS NULL OR party = ANY (r.parties))
        ORDER BY r.cluster_id LIMIT 100
    ) END
$$;

-- How a window meets a cluster, as sums over intervals, so that both kinds of sum can be kept per
-- interval of days. Let `members` be the disjoint runs m1 < m2 < ... of the members' dates:
--   the cluster is inside [from, to] when its span ('s') is;
--   it meets the window when some run does, and the runs that meet it are consecutive, so
--   (runs that meet it) - (consecutive pairs that both meet it) is 1 when it meets it, 0 otherwise.
--   Runs ('m') meet the window by overlapping it. A consecutive pair ('j') both meet it exactly when
--   [last day of the first run, first day of the second] lies inside it.
-- So every sum over clusters is a sum over 's' and 'j' intervals inside the window and 'm' intervals
-- overlapping it, each of which an index on its first day answers.
CREATE FUNCTION derived.terms(span daterange, members datemultirange)
RETURNS TABLE (kind "char", first date, last date) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 's'::"char", lower(span), upper(span) - 1
    UNION ALL
    SELECT 'm'::"char", lower(run), upper(run) - 1 FROM unnest(members) AS run
    UNION ALL
    SELECT 'j'::"char", last, next_first FROM (
        SELECT upper(run) - 1 AS last, lead(lower(run)) OVER (ORDER BY lower(run)) AS next_first
        FROM unnest(members) AS run
    ) pairs
    WHERE next_first IS NOT NULL
$$;

-- The sums below are kept per interval of days (`grain` 'd') and per interval of months ('m': `first`
-- and `last` are then the first days of the months the intervals start and end in). A window reads
-- its whole months by the month and only its partial ones by the day, so that a year costs about
-- twelve months' rows rather than 365 days'.
--
-- Rule 4's sums: clusters, then k_/j_ min (for inside clusters), max where bounded, and the clusters
-- with an unbounded figure and with none.
CREATE TABLE derived.tier_sums (
    grain         "char" NOT NULL,
    kind          "char" NOT NULL,
    first         date NOT NULL,
    last          date NOT NULL,
    tier          smallint NOT NULL,
    disputed      boolean NOT NULL,
    clusters      bigint NOT NULL,
    k_min         bigint NOT NULL,
    k_max_bounded bigint NOT NULL,
    k_unbounded   bigint NOT NULL,
    k_without     bigint NOT NULL,
    j_min         bigint NOT NULL,
    j_max_bounded bigint NOT NULL,
    j_unbounded   bigint NOT NULL,
    j_without     bigint NOT NULL,
    PRIMARY KEY (grain, kind, first, last, tier, disputed)
);
-- Runs that start before a window and reach into it hold both its first day and the day before.
CREATE INDEX tier_sums_runs_idx ON derived.tier_sums USING gist (daterange(first, last, '[]'))
    WHERE grain = 'd' AND kind = 'm';
-- Intervals that start in a window's whole months and end in its partial last one.
CREATE INDEX tier_sums_last_idx ON derived.tier_sums (grain, kind, last);

-- The LIKELY clusters, counted by a party among their members ('' for any) and by a source that
-- covers them ('' for any): a source's gaps are the first count less the second.
CREATE TABLE derived.coverage_sums (
    grain     "char" NOT NULL,
    kind      "char" NOT NULL,
    first     date NOT NULL,
    last      date NOT NULL,
    party     text NOT NULL,
    source_id text NOT NULL,
    clusters  bigint NOT NULL,
    PRIMARY KEY (grain, kind, first, last, party, source_id)
);
CREATE INDEX coverage_sums_runs_idx ON derived.coverage_sums USING gist (daterange(first, last, '[]'))
    WHERE grain = 'd' AND kind = 'm';
CREATE INDEX coverage_sums_last_idx ON derived.coverage_sums (grain, kind, last);

-- Rule 3 per incident: each source's current assessment of it, unless DUPLICATE; and its sums (an
-- incident is a single run).
CREATE TABLE derived.current_verdicts (
    incident_id bigint NOT NULL,
    source_id   text NOT NULL,
    occurred    daterange NOT NULL,
    verdict     text NOT NULL,
    tier        smallint NOT NULL,
    killed_min  bigint,
    killed_max  bigint,
    injured_min bigint,
    injured_max bigint,
    PRIMARY KEY (incident_id, source_id)
);
CREATE TABLE derived.verdict_sums (
    grain         "char" NOT NULL,
    first         date NOT NULL,
    last          date NOT NULL,
    source_id     text NOT NULL,
    verdict       text NOT NULL,
    tier          smallint NOT NULL,
    incidents     bigint NOT NULL,
    k_min         bigint NOT NULL,
    k_max_bounded bigint NOT NULL,
    k_unbounded   bigint NOT NULL,
    k_without     bigint NOT NULL,
    j_min         bigint NOT NULL,
    j_max_bounded bigint NOT NULL,
    j_unbounded   bigint NOT NULL,
    j_without     bigint NOT NULL,
    PRIMARY KEY (grain, first, last, source_id, verdict)
);
CREATE INDEX verdict_sums_runs_idx ON derived.verdict_sums USING gist (daterange(first, last, '[]'))
    WHERE grain = 'd';
CREATE INDEX verdict_sums_last_idx ON derived.verdict_sums (grain, last);

-- What marks an incident pending: its assessments, its links, its own columns, and a change of
-- belligerent of a source that assessed it (rule 5 reads it). Statement-level where the rows touched
-- come as a set, so that an import marks its batch with one insert.
CREATE FUNCTION derived_mark_assessed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO derived.pending SELECT DISTINCT incident_id FROM touched;
    RETURN NULL;
END
$$;
CREATE TRIGGER assessments_mark_pending AFTER INSERT ON assessments
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION derived_mark_assessed();

CREATE FUNCTION derived_mark_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO derived.pending SELECT id FROM touched;
    RETURN NULL;
END
$$;
CREATE TRIGGER incidents_mark_pending AFTER UPDATE ON incidents
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION derived_mark_updated();

CREATE FUNCTION derived_mark_linked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO derived.pending
    SELECT low_incident_id FROM touched UNION SELECT high_incident_id FROM touched;
    RETURN NULL;
END
$$;
CREATE TRIGGER incident_links_mark_linked AFTER INSERT ON incident_links
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION derived_mark_linked();
CREATE TRIGGER incident_links_mark_unlinked AFTER DELETE ON incident_links
    REFERENCING OLD TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION derived_mark_linked();

CREATE FUNCTION derived_mark_belligerent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO derived.pending SELECT DISTINCT incident_id FROM assessments WHERE source_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER sources_mark_belligerent AFTER UPDATE ON sources
    FOR EACH ROW WHEN (OLD.belligerent IS DISTINCT FROM NEW.belligerent)
    EXECUTE FUNCTION derived_mark_belligerent();

-- A database migrated with data in it starts with every assessed incident pending.
INSERT INTO derived.pending SELECT DISTINCT incident_id FROM assessments;

-- 2026-11-25-000001_derived_version
-- The derived figures' version. Every refresh adds one in its own transaction, and nothing else
-- writes the derived figures, so two snapshots that see the same version and no pending incident
-- see the same derived figures: an answer read from them may be kept, and served again, for as long
-- as the version stays the same (see `DerivedAnswers` in crates/persistence/src/derived.rs).
CREATE TABLE derived.version (
    single boolean PRIMARY KEY DEFAULT true CHECK (single),
    version bigint NOT NULL
);
INSERT INTO derived.version (version) VALUES (0);

-- 2026-11-26-000001_listed_spans_index
-- The listed runs that hold a window's first day and the day before are found through a GiST index
-- on the runs' days. A run of one day holds no two days, and most runs are of one day, yet every
-- one was indexed: a refresh spent about 0.1 ms on each listed row it added, mostly choosing where
-- in that index to put it (docs/BENCHMARKS.md, finding 15). Only the runs of two days or more are
-- indexed now; derived_figures.sql states the same condition, so that the planner may use it.
DROP INDEX derived.listed_runs_runs_idx;
CREATE INDEX listed_runs_spans_idx ON derived.listed_runs USING gist (daterange(first, last, '[]'))
    WHERE last > first;

-- 2026-11-27-000001_drop_first_listed
-- derived.first_listed was the first form of the listed ids' query. derived_figures.sql has read the
-- lists itself since, with its own threshold between short and long windows and only the runs that
-- the GiST index holds (see 2026-11-26-000001_listed_spans_index), and nothing called the function;
-- left in place it read as the rule, and its threshold differed.
DROP FUNCTION derived.first_listed(text, text, date, date);

-- 2026-11-29-000001_derived_version_stamp
-- Every refresh draws a stamp at random beside the number it adds one to, and keeps the one it
-- replaced, so that a version of the derived figures is told apart from another history's version
-- of the same number: after a failover that lost the last refresh's commit, or a restore from a
-- backup, the refreshes count the same numbers again over other data, and the server must not answer
-- from figures it holds, or answers it kept, at the lost version (see `Version` in
-- crates/persistence/src/derived.rs).
ALTER TABLE derived.version
    ADD COLUMN stamp bigint NOT NULL DEFAULT 0,
    ADD COLUMN previous_stamp bigint NOT NULL DEFAULT 0;
UPDATE derived.version SET stamp = (random() * 9e18)::bigint;

-- 2026-11-30-000001_derived_version_stamp_trigger
-- The database, not the refresh's statement, draws a version's stamp: every update that moves the
-- number gets a new stamp and keeps the one it replaced. A server older than the stamp, still running
-- during a rolling deploy, adds one to the number alone; its refreshes, too, must tell a lost
-- history's version from the new one's of the same number (see the migration that added the stamp).
CREATE FUNCTION derived.draw_version_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version IS DISTINCT FROM OLD.version THEN
        NEW.previous_stamp := OLD.stamp;
        NEW.stamp := (random() * 9e18)::bigint;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER draw_stamp BEFORE UPDATE ON derived.version
    FOR EACH ROW EXECUTE FUNCTION derived.draw_version_stamp();

-- 2026-12-01-000001_derived_terms_gaps
-- The consecutive pairs of a cluster's runs ('j'), found as the gaps between them: `span` runs from
-- the first run's first day to the last one's last, so `span` less `members` is the gaps, each from
-- the day after a run to the day before the next. The same rows as the window over the sorted runs it
-- replaces, which cost nearly half of the terms' time in a refresh's sums: one sort per cluster, though
-- almost every cluster is a single run and has no pair.
CREATE OR REPLACE FUNCTION derived.terms(span daterange, members datemultirange)
RETURNS TABLE (kind "char", first date, last date) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 's'::"char", lower(span), upper(span) - 1
    UNION ALL
    SELECT 'm'::"char", lower(run), upper(run) - 1 FROM unnest(members) AS run
    UNION ALL
    SELECT 'j'::"char", lower(gap) - 1, upper(gap) FROM unnest(datemultirange(span) - members) AS gap
$$;

