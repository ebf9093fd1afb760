-- What the pending writes change in the derived figures, as the next refresh (refresh_derived.sql)
-- will change them, read by a caller whose snapshot holds a few of them: the day grain's signed
-- changes of the sums, the clusters the refresh will take out, and the runs it will list. The figures
-- held in memory at the snapshot's version, with these added, answer exactly what the snapshot
-- sees (see `Changes` in held.rs), without waiting for the refresh and without the full
-- computation. Read-only: the refresh's temporary tables are CTEs of the same names here.
--
-- $1: the pending incidents, as the caller read them in the same snapshot. Given as an array, their
-- number is known to the planner, which the statistics of `derived.pending` (from a few rows to an
-- import's million, and back) do not tell; and every lookup of the derived tables by the pending
-- incidents' clusters is a subquery of its own (OFFSET 0 keeps it one), answered through an index
-- rather than by hashing the whole table (1.8 million rows of cluster_tiers: 0.7 s).
WITH RECURSIVE
refresh_pending AS (SELECT DISTINCT unnest($1::bigint[]) AS incident_id),
-- As the refresh finds them: the pending incidents and every member of their former clusters.
former_clusters AS (
    SELECT DISTINCT c.cluster_id FROM refresh_pending p
    CROSS JOIN LATERAL (
        SELECT c.cluster_id FROM derived.cluster_members c WHERE c.incident_id = p.incident_id OFFSET 0
    ) c
),
former_members AS (
    SELECT f.cluster_id, m.incident_id FROM former_clusters f
    CROSS JOIN LATERAL (
        SELECT m.incident_id FROM derived.cluster_members m WHERE m.cluster_id = f.cluster_id OFFSET 0
    ) m
),
refresh_start AS (
    SELECT incident_id FROM refresh_pending UNION SELECT incident_id FROM former_members
),
{walked_clusters},
-- Through arrays, whose length the planner takes to be 100 rows rather than the walk's own estimate
-- (tens of thousands), which had it read all of `incidents` to join the members' 1,000 (0.1 s).
refresh_member AS (
    SELECT * FROM unnest(
        (SELECT array_agg(incident_id ORDER BY incident_id) FROM walked_clusters),
        (SELECT array_agg(cluster_id ORDER BY incident_id) FROM walked_clusters)
    ) AS m (incident_id, cluster_id)
),
refresh_stale AS (
    SELECT DISTINCT COALESCE(
        (SELECT m.cluster_id FROM derived.cluster_members m WHERE m.incident_id = r.incident_id),
        r.incident_id
    ) AS cluster_id
    FROM refresh_member r
),
{cluster_rows},
{incident_verdicts},
refresh_rows AS (
    SELECT -1 AS sign, t.* FROM refresh_stale s
    CROSS JOIN LATERAL (SELECT * FROM derived.cluster_tiers t WHERE t.cluster_id = s.cluster_id OFFSET 0) t
    UNION ALL
    SELECT 1, * FROM cluster_rows
),
refresh_verdicts AS (
    SELECT -1 AS sign, v.* FROM refresh_pending p
    CROSS JOIN LATERAL (
        SELECT * FROM derived.current_verdicts v WHERE v.incident_id = p.incident_id OFFSET 0
    ) v
    UNION ALL
    SELECT 1, * FROM incident_verdicts
),
{changes_document}
