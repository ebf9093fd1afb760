-- The clusters, as they are now, of the incidents of a relation `refresh_start (incident_id)`: CTE
-- `walked_clusters (incident_id, cluster_id)`, walked from those some link or DUPLICATE verdict names
-- (as in window_figures.sql), the others alone. Shared by refresh_derived.sql and
-- pending_figures.sql, which splice it in where they write {walked_clusters}, after WITH RECURSIVE.
-- It must end with the CTE, not a comment.
params AS (SELECT 'infinity'::date AS as_of),
walk_from AS (SELECT incident_id AS id FROM refresh_start),
{cluster_reach},
cluster_of AS (SELECT start, min(node) AS cluster_id FROM reach GROUP BY start),
linked AS (SELECT DISTINCT r.node AS incident_id, c.cluster_id FROM reach r JOIN cluster_of c USING (start)),
walked_clusters AS (
    SELECT incident_id, cluster_id FROM linked
    UNION ALL
    SELECT s.incident_id, s.incident_id FROM refresh_start s
    WHERE NOT EXISTS (SELECT 1 FROM linked l WHERE l.incident_id = s.incident_id)
)
