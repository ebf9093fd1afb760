-- Rules 4 and 5 per cluster, as window_figures.sql computes them for a window with every source
-- selected and no `as_of`: the rows of derived.cluster_tiers (CTE `cluster_rows`) for the clusters of
-- a relation `refresh_member (incident_id, cluster_id)` holding every member of each. Shared by
-- refresh_derived.sql, which stores them, and pending_figures.sql, which answers with them before a
-- refresh has; they splice it in where they write {cluster_rows}. It must end with the CTE, not a
-- comment.
members AS (
    SELECT r.cluster_id, i.id AS incident_id, i.occurred_from, i.occurred_to, i.attributed_to
    FROM refresh_member r JOIN incidents i ON i.id = r.incident_id
),
current_assessments AS (
    SELECT m.cluster_id, a.*
    FROM members m
    CROSS JOIN LATERAL (
        SELECT DISTINCT ON (x.source_id)
               x.source_id, x.verdict, x.killed_min, x.killed_max, x.injured_min, x.injured_max
        FROM assessments x
        WHERE x.incident_id = m.incident_id
        ORDER BY x.source_id DESC, x.assessed_on DESC, x.recorded_at DESC, x.id DESC
    ) a
),
graded AS (
    SELECT c.*, civcas_tier(c.verdict) AS tier FROM current_assessments c WHERE c.verdict <> 'duplicate'
),
cluster_belligerents AS (
    SELECT DISTINCT m.cluster_id, party FROM members m CROSS JOIN LATERAL unnest(m.attributed_to) AS party
),
{cluster_sources},
cluster_figure AS (
    SELECT cluster_id, tier,
           min(k_min) AS k_min, max(k_max) AS k_max, bool_or(k_unbounded) AS k_unbounded,
           min(j_min) AS j_min, max(j_max) AS j_max, bool_or(j_unbounded) AS j_unbounded
    FROM source_figure GROUP BY cluster_id, tier
),
covered AS (
    SELECT cluster_id, array_agg(DISTINCT source_id ORDER BY source_id) AS sources
    FROM current_assessments GROUP BY cluster_id
),
parties AS (
    SELECT cluster_id, array_agg(party ORDER BY party) AS parties FROM cluster_belligerents GROUP BY cluster_id
),
shape AS (
    SELECT cluster_id, daterange(min(occurred_from), max(occurred_to), '[]') AS span,
           range_agg(daterange(occurred_from, occurred_to, '[]')) AS members
    FROM members GROUP BY cluster_id
),
cluster_rows AS (
    SELECT f.cluster_id, f.tier, s.span, s.members, d.cluster_id IS NOT NULL AS disputed,
           COALESCE(c.sources, '{}') AS covered, COALESCE(p.parties, '{}') AS parties,
           f.k_min, f.k_max, f.k_unbounded, f.j_min, f.j_max, f.j_unbounded
    FROM cluster_figure f
    JOIN shape s USING (cluster_id)
    LEFT JOIN covered c USING (cluster_id)
    LEFT JOIN parties p USING (cluster_id)
    LEFT JOIN disputed d USING (cluster_id)
)
