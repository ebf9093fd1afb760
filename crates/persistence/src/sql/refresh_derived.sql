-- Brings the derived figures (schema `derived`, see its migration) up to the transaction's snapshot:
-- takes the pending incidents, recomputes the clusters they belong to now and belonged to before,
-- and the per-span sums those clusters and incidents fall in. It runs as one script in a REPEATABLE
-- READ transaction, under the refresh lock, so that it reads one snapshot and no other refresh
-- interleaves. Rows left in `derived.pending` by writers that commit meanwhile wait for the next one.

-- The pending incidents are usually few next to the tables they are joined with, whose pages are
-- mostly in memory. At PostgreSQL's default cost of a random read (4) the planner scanned whole
-- tables of a million rows to join a few thousand incidents, 0.2 to 1 s each (docs/BENCHMARKS.md,
-- finding 15); priced as a cached read, it probes the indexes, and still scans when most rows are
-- pending, as after an import.
SET LOCAL random_page_cost = 1.1;

CREATE TEMP TABLE refresh_pending (incident_id bigint PRIMARY KEY) ON COMMIT DROP;
WITH taken AS (DELETE FROM derived.pending RETURNING incident_id)
INSERT INTO refresh_pending SELECT DISTINCT incident_id FROM taken;
ANALYZE refresh_pending;

-- Whose cluster may have changed: the pending incidents and every member of their former clusters.
-- A cluster splits only when a link or a DUPLICATE verdict goes, and that marks one of its members.
CREATE TEMP TABLE refresh_start (incident_id bigint PRIMARY KEY) ON COMMIT DROP;
INSERT INTO refresh_start
SELECT incident_id FROM refresh_pending
UNION
SELECT m.incident_id FROM derived.cluster_members m
WHERE m.cluster_id IN (
    SELECT c.cluster_id FROM derived.cluster_members c JOIN refresh_pending USING (incident_id)
);
ANALYZE refresh_start;

-- Their clusters now, whole.
CREATE TEMP TABLE refresh_member (incident_id bigint PRIMARY KEY, cluster_id bigint NOT NULL) ON COMMIT DROP;
INSERT INTO refresh_member WITH RECURSIVE {walked_clusters} SELECT * FROM walked_clusters;
ANALYZE refresh_member;

-- Every former cluster of those members goes; the clusters above replace them.
CREATE TEMP TABLE refresh_stale (cluster_id bigint PRIMARY KEY) ON COMMIT DROP;
INSERT INTO refresh_stale
SELECT DISTINCT COALESCE(m.cluster_id, r.incident_id)
FROM refresh_member r LEFT JOIN derived.cluster_members m USING (incident_id);

-- A former cluster with a member that was not walked would lose that member's figures: refuse,
-- rather than store a wrong sum.
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM derived.cluster_members m JOIN refresh_stale USING (cluster_id)
        WHERE NOT EXISTS (SELECT 1 FROM refresh_member r WHERE r.incident_id = m.incident_id)
    ) THEN
        RAISE EXCEPTION 'derived figures: a former cluster has a member the refresh did not walk';
    END IF;
END
$$;

-- The rows this refresh removes (sign -1) and adds (sign +1): every sum below changes by their
-- signed values, so that a refresh costs what it touches, not what is stored.
CREATE TEMP TABLE refresh_rows ON COMMIT DROP AS
SELECT 0 AS sign, * FROM derived.cluster_tiers WITH NO DATA;

DELETE FROM derived.cluster_members m USING refresh_stale s WHERE m.cluster_id = s.cluster_id;
DELETE FROM derived.listed_runs l USING refresh_stale s WHERE l.cluster_id = s.cluster_id;
WITH gone AS (
    DELETE FROM derived.cluster_tiers t USING refresh_stale s WHERE t.cluster_id = s.cluster_id RETURNING t.*
)
INSERT INTO refresh_rows SELECT -1, * FROM gone;

INSERT INTO derived.cluster_members
SELECT r.incident_id, r.cluster_id FROM refresh_member r
WHERE EXISTS (SELECT 1 FROM refresh_member o WHERE o.cluster_id = r.cluster_id AND o.incident_id <> r.incident_id);

-- Rules 4 and 5 per cluster, as window_figures.sql computes them for a window, with every source
-- selected and no `as_of`.
WITH {cluster_rows}
INSERT INTO refresh_rows SELECT 1, * FROM cluster_rows;
ANALYZE refresh_rows;

INSERT INTO derived.cluster_tiers
SELECT cluster_id, tier, span, members, disputed, covered, parties,
       k_min, k_max, k_unbounded, j_min, j_max, j_unbounded
FROM refresh_rows WHERE sign = 1;

-- The listed clusters: the new disputed ones, and the new LIKELY clusters of the sources already
-- kept; then every LIKELY cluster for the sources registered since the last refresh.
INSERT INTO derived.listed_runs
SELECT l.list, r.cluster_id, date_trunc('month', lower(run))::date, lower(run), upper(run) - 1, r.parties
FROM refresh_rows r
CROSS JOIN LATERAL (
    SELECT '' AS list WHERE r.disputed
    UNION ALL
    SELECT g.source_id FROM derived.gap_sources g WHERE NOT g.source_id = ANY (r.covered)
) l
CROSS JOIN LATERAL unnest(r.members) AS run
WHERE r.sign = 1 AND r.tier = 3;
-- Mostly no source is new: the EXISTS, which refers to no row, is checked once before the join
-- runs, which otherwise reads every LIKELY cluster to join it with nothing.
WITH added AS (
    INSERT INTO derived.gap_sources SELECT id FROM sources ON CONFLICT DO NOTHING RETURNING source_id
)
INSERT INTO derived.listed_runs
SELECT a.source_id, t.cluster_id, date_trunc('month', lower(run))::date, lower(run), upper(run) - 1, t.parties
FROM added a
JOIN derived.cluster_tiers t ON t.tier = 3 AND NOT a.source_id = ANY (t.covered)
CROSS JOIN LATERAL unnest(t.members) AS run
WHERE EXISTS (SELECT 1 FROM added);

-- Rule 3 per incident, for the pending incidents only: no other incident's own assessments or
-- dates changed.
CREATE TEMP TABLE refresh_verdicts ON COMMIT DROP AS
SELECT 0 AS sign, * FROM derived.current_verdicts WITH NO DATA;
WITH gone AS (
    DELETE FROM derived.current_verdicts v USING refresh_pending p WHERE v.incident_id = p.incident_id
    RETURNING v.*
)
INSERT INTO refresh_verdicts SELECT -1, * FROM gone;
WITH {incident_verdicts},
added AS (INSERT INTO derived.current_verdicts SELECT * FROM incident_verdicts RETURNING *)
INSERT INTO refresh_verdicts SELECT 1, * FROM added;

-- The sums, changed by the signed rows, by the day and then by the month. An interval whose count
-- falls to zero holds no row, as it would had it been summed from scratch. An interval whose
-- changes cancel out has none to add (see signed_sums.sql); a month whose days' changes cancel out
-- (an incident's dates moved within it) is added as nothing, which is rare.
CREATE TEMP TABLE refresh_tier_sums ON COMMIT DROP AS
WITH {signed_sums} SELECT 'd'::"char" AS grain, * FROM tier_changes;
INSERT INTO refresh_tier_sums
SELECT 'm', kind, date_trunc('month', first)::date, date_trunc('month', last)::date, tier, disputed,
       sum(clusters), sum(k_min), sum(k_max_bounded), sum(k_unbounded), sum(k_without),
       sum(j_min), sum(j_max_bounded), sum(j_unbounded), sum(j_without)
FROM refresh_tier_sums WHERE grain = 'd' GROUP BY 2, 3, 4, 5, 6;
INSERT INTO derived.tier_sums AS d SELECT * FROM refresh_tier_sums
ON CONFLICT (grain, kind, first, last, tier, disputed) DO UPDATE SET
    clusters = d.clusters + excluded.clusters,
    k_min = d.k_min + excluded.k_min, k_max_bounded = d.k_max_bounded + excluded.k_max_bounded,
    k_unbounded = d.k_unbounded + excluded.k_unbounded, k_without = d.k_without + excluded.k_without,
    j_min = d.j_min + excluded.j_min, j_max_bounded = d.j_max_bounded + excluded.j_max_bounded,
    j_unbounded = d.j_unbounded + excluded.j_unbounded, j_without = d.j_without + excluded.j_without;
DELETE FROM derived.tier_sums d USING refresh_tier_sums s
WHERE (d.grain, d.kind, d.first, d.last, d.tier, d.disputed) = (s.grain, s.kind, s.first, s.last, s.tier, s.disputed)
  AND d.clusters = 0;

CREATE TEMP TABLE refresh_coverage_sums ON COMMIT DROP AS
WITH {signed_sums} SELECT 'd'::"char" AS grain, * FROM coverage_changes;
INSERT INTO refresh_coverage_sums
SELECT 'm', kind, date_trunc('month', first)::date, date_trunc('month', last)::date, party, source_id,
       sum(clusters)
FROM refresh_coverage_sums WHERE grain = 'd' GROUP BY 2, 3, 4, 5, 6;
INSERT INTO derived.coverage_sums AS d SELECT * FROM refresh_coverage_sums
ON CONFLICT (grain, kind, first, last, party, source_id) DO UPDATE SET clusters = d.clusters + excluded.clusters;
DELETE FROM derived.coverage_sums d USING refresh_coverage_sums s
WHERE (d.grain, d.kind, d.first, d.last, d.party, d.source_id) = (s.grain, s.kind, s.first, s.last, s.party, s.source_id)
  AND d.clusters = 0;

CREATE TEMP TABLE refresh_verdict_sums ON COMMIT DROP AS
WITH {signed_sums} SELECT 'd'::"char" AS grain, * FROM verdict_changes;
INSERT INTO refresh_verdict_sums
SELECT 'm', date_trunc('month', first)::date, date_trunc('month', last)::date, source_id, verdict,
       min(tier), sum(incidents), sum(k_min), sum(k_max_bounded), sum(k_unbounded), sum(k_without),
       sum(j_min), sum(j_max_bounded), sum(j_unbounded), sum(j_without)
FROM refresh_verdict_sums WHERE grain = 'd' GROUP BY 2, 3, 4, 5;
INSERT INTO derived.verdict_sums AS d SELECT * FROM refresh_verdict_sums
ON CONFLICT (grain, first, last, source_id, verdict) DO UPDATE SET
    incidents = d.incidents + excluded.incidents,
    k_min = d.k_min + excluded.k_min, k_max_bounded = d.k_max_bounded + excluded.k_max_bounded,
    k_unbounded = d.k_unbounded + excluded.k_unbounded, k_without = d.k_without + excluded.k_without,
    j_min = d.j_min + excluded.j_min, j_max_bounded = d.j_max_bounded + excluded.j_max_bounded,
    j_unbounded = d.j_unbounded + excluded.j_unbounded, j_without = d.j_without + excluded.j_without;
DELETE FROM derived.verdict_sums d USING refresh_verdict_sums s
WHERE (d.grain, d.first, d.last, d.source_id, d.verdict) = (s.grain, s.first, s.last, s.source_id, s.verdict)
  AND d.incidents = 0;

-- Answers kept from the derived figures as they were are now stale. A trigger draws the new version's
-- stamp, which tells it from another history's of the same number (see the migrations that added
-- the stamp and the trigger).
UPDATE derived.version SET version = version + 1;
