-- The hand-written baseline for GetReconciledFigures' tiers over $1..$2, sent straight to PostgreSQL:
-- rules 2 and 4 written the plain way, for killed and children killed, with the countries ($3), attributed_to ($4) and sources ($5)
-- filters (empty: no filter) and an as_of ($6, NULL: none). It relies on the benchmark data's
-- clusters being pairs made by DUPLICATE verdicts (no links, no chains), which lets it skip a walk
-- of the links. One row per tier: 4 ESTABLISHED, 3 LIKELY, 2 ALLEGED.
WITH
params AS (SELECT $1::text::date AS w_from, $2::text::date AS w_to, $3::text[] AS countries,
                  $4::text[] AS parties, $5::text[] AS sources, $6::text::date AS as_of),
win AS (
    SELECT i.id FROM incidents i, params p
    WHERE daterange(i.occurred_from, i.occurred_to, '[]') && daterange(p.w_from, p.w_to, '[]')
),
-- The window's incidents, and those that name one of them as their duplicate.
touching AS (
    SELECT id FROM win
    UNION
    SELECT a.incident_id FROM assessments a JOIN win w ON a.duplicate_of = w.id
),
current_touching AS (
    SELECT DISTINCT ON (a.source_id, a.incident_id) a.incident_id, a.verdict, a.duplicate_of
    FROM assessments a JOIN touching t ON t.id = a.incident_id, params p
    WHERE p.as_of IS NULL OR a.assessed_on <= p.as_of
    ORDER BY a.source_id, a.incident_id, a.assessed_on DESC, a.recorded_at DESC, a.id DESC
),
edges AS (SELECT incident_id AS x, duplicate_of AS y FROM current_touching WHERE verdict = 'duplicate'),
paired AS (
    SELECT x AS incident_id, least(x, y) AS cluster_id FROM edges
    UNION
    SELECT y, least(x, y) FROM edges
),
members AS (
    SELECT w.id AS incident_id, COALESCE(p.cluster_id, w.id) AS cluster_id
    FROM win w LEFT JOIN paired p ON p.incident_id = w.id
    UNION
    SELECT incident_id, cluster_id FROM paired
),
-- A cluster counts when a member passes the incident filters.
cluster_inside AS (
    SELECT m.cluster_id, bool_and(p.w_from <= i.occurred_from AND i.occurred_to <= p.w_to) AS inside
    FROM members m JOIN incidents i ON i.id = m.incident_id, params p
    GROUP BY m.cluster_id
    HAVING bool_or((cardinality(p.countries) = 0 OR i.country = ANY(p.countries))
                   AND (cardinality(p.parties) = 0 OR i.attributed_to && p.parties))
),
current_members AS (
    SELECT DISTINCT ON (a.source_id, a.incident_id)
           m.cluster_id, a.source_id, a.verdict, a.killed_min, a.killed_max,
           a.children_killed_min, a.children_killed_max
    FROM members m JOIN assessments a ON a.incident_id = m.incident_id, params p
    WHERE (p.as_of IS NULL OR a.assessed_on <= p.as_of)
      AND (cardinality(p.sources) = 0 OR a.source_id = ANY(p.sources))
    ORDER BY a.source_id, a.incident_id, a.assessed_on DESC, a.recorded_at DESC, a.id DESC
),
graded AS (
    SELECT cluster_id, source_id, killed_min, killed_max, children_killed_min, children_killed_max,
           CASE verdict WHEN 'confirmed' THEN 4 WHEN 'credible' THEN 4 WHEN 'fair' THEN 3
                        WHEN 'weak' THEN 2 WHEN 'contested' THEN 2 WHEN 'open' THEN 2 ELSE 1 END AS tier
    FROM current_members WHERE verdict <> 'duplicate'
),
source_figure AS (
    SELECT g.cluster_id, g.source_id, t.tier,
           max(g.killed_min) AS k_min, max(g.killed_max) AS k_max,
           bool_or(g.killed_min IS NOT NULL AND g.killed_max IS NULL) AS k_unbounded,
           max(g.children_killed_min) AS c_min, max(g.children_killed_max) AS c_max,
           bool_or(g.children_killed_min IS NOT NULL AND g.children_killed_max IS NULL)
               AS c_unbounded
    FROM graded g JOIN (VALUES (4), (3), (2)) AS t (tier) ON g.tier >= t.tier
    GROUP BY g.cluster_id, g.source_id, t.tier
),
cluster_figure AS (
    SELECT f.cluster_id, f.tier, c.inside,
           min(f.k_min) AS k_min, max(f.k_max) AS k_max, bool_or(f.k_unbounded) AS k_unbounded,
           count(f.k_min) > 0 AS k_has,
           min(f.c_min) AS c_min, max(f.c_max) AS c_max, bool_or(f.c_unbounded) AS c_unbounded,
           count(f.c_min) > 0 AS c_has
    FROM source_figure f JOIN cluster_inside c USING (cluster_id)
    GROUP BY f.cluster_id, f.tier, c.inside
)
SELECT tier,
       count(*) FILTER (WHERE inside) AS inside,
       count(*) FILTER (WHERE NOT inside) AS boundary,
       COALESCE(sum(k_min) FILTER (WHERE inside AND k_has), 0)::bigint AS k_min,
       COALESCE(sum(k_max) FILTER (WHERE k_has AND NOT k_unbounded), 0)::bigint AS k_max_bounded,
       count(*) FILTER (WHERE k_has AND k_unbounded) AS k_unbounded,
       count(*) FILTER (WHERE NOT k_has) AS k_without,
       COALESCE(sum(c_min) FILTER (WHERE inside AND c_has), 0)::bigint AS c_min,
       COALESCE(sum(c_max) FILTER (WHERE c_has AND NOT c_unbounded), 0)::bigint AS c_max_bounded,
       count(*) FILTER (WHERE c_has AND c_unbounded) AS c_unbounded,
       count(*) FILTER (WHERE NOT c_has) AS c_without
FROM cluster_figure
GROUP BY tier
ORDER BY tier DESC
