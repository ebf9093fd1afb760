-- Rules 4 and 5 per cluster and source, shared by window_figures.sql and refresh_derived.sql, which
-- splice it in where they write {cluster_sources}: from a CTE `graded` (cluster_id, source_id, tier,
-- killed_min, killed_max, injured_min, injured_max) of the current non-DUPLICATE assessments of the
-- clusters' members, and `cluster_belligerents` (cluster_id, party). It must end with the CTE, not a
-- comment.
source_tier AS (SELECT cluster_id, source_id, max(tier) AS tier FROM graded GROUP BY cluster_id, source_id),
-- A source's figure for a cluster at tier T: the largest min and largest max of its assessments at T
-- or higher that state one; a row exists when the source puts the cluster at T or higher.
source_figure AS (
    SELECT g.cluster_id, g.source_id, t.tier,
           max(g.killed_min) AS k_min, max(g.killed_max) AS k_max,
           bool_or(g.killed_min IS NOT NULL AND g.killed_max IS NULL) AS k_unbounded,
           max(g.injured_min) AS j_min, max(g.injured_max) AS j_max,
           bool_or(g.injured_min IS NOT NULL AND g.injured_max IS NULL) AS j_unbounded
    FROM graded g JOIN (VALUES (4), (3), (2)) AS t (tier) ON g.tier >= t.tier
    GROUP BY g.cluster_id, g.source_id, t.tier
),
-- Rule 5: one source puts the cluster at LIKELY or above and another, speaking for it, rejects it.
disputed AS (
    SELECT DISTINCT high.cluster_id
    FROM source_tier high
    JOIN source_tier low ON low.cluster_id = high.cluster_id AND low.source_id <> high.source_id
    JOIN sources s ON s.id = low.source_id
    LEFT JOIN cluster_belligerents cb ON cb.cluster_id = high.cluster_id AND cb.party = s.belligerent
    WHERE high.tier >= 3 AND low.tier = 1
      AND (s.belligerent IS NULL OR cb.cluster_id IS NOT NULL)
)
