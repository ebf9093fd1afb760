-- Rules 2 to 5 for one window: the per-source figures (source_sums.sql), the reconciled tiers, the
-- disputed clusters and the coverage gaps, as one JSON document. The per-source figures come from the
-- same current assessments as the clusters', which are read once. Parameters: $1 from, $2 to,
-- $3 as_of (NULL: no limit), $4 countries, $5 admin1, $6 attributed_to (empty arrays: no filter),
-- $7 the selected sources, $8 localities.
--
-- Clusters are found by walking links and current DUPLICATE verdicts outward, but only from the
-- window's incidents that some link or DUPLICATE verdict names: most incidents are in no cluster,
-- and walking from each of them (four index probes apiece) was most of the query's time. The cost
-- grows with the window, except for finding the linkable incidents, which may hash the table's
-- DUPLICATE verdicts (a small share of it). Tiers are numbers (`civcas_tier`).
WITH RECURSIVE
params AS (
    SELECT $1::date AS w_from, $2::date AS w_to, COALESCE($3::date, 'infinity'::date) AS as_of,
           $4::text[] AS countries, $5::text[] AS admin1s, $6::text[] AS attributed, $7::text[] AS sources,
           $8::text[] AS localities
),
-- The window's incidents, read once with the columns the filters need. The bounds are the
-- parameters themselves, not `params`, so that the planner estimates the window's size.
window_incidents AS MATERIALIZED (
    SELECT i.id, i.occurred_from, i.occurred_to, i.country, i.admin1, i.locality, i.attributed_to
    FROM incidents i
    WHERE daterange(i.occurred_from, i.occurred_to, '[]') && daterange($1::date, $2::date, '[]')
),
-- The walk (cluster_reach.sql) starts from those of the window's incidents that can share a cluster.
walk_from AS (SELECT id FROM window_incidents),
{cluster_reach},
cluster_of AS (SELECT start, min(node) AS cluster_id FROM reach GROUP BY start),
linked_members AS (
    SELECT DISTINCT c.cluster_id, r.node AS incident_id FROM reach r JOIN cluster_of c USING (start)
),
-- Every member with its incident's columns: the window's incidents as read above, each its own
-- cluster unless linked, and the linked members outside the window, fetched by primary key (an
-- array, so that no misestimate of the walk's size turns the fetch into a scan of the table).
member_incidents AS (
    SELECT COALESCE(l.cluster_id, w.id) AS cluster_id, w.id AS incident_id, true AS in_window,
           w.occurred_from, w.occurred_to, w.country, w.admin1, w.locality, w.attributed_to
    FROM window_incidents w LEFT JOIN linked_members l ON l.incident_id = w.id
    UNION ALL
    SELECT l.cluster_id, i.id, false, i.occurred_from, i.occurred_to, i.country, i.admin1, i.locality,
           i.attributed_to
    FROM incidents i JOIN linked_members l ON l.incident_id = i.id
    WHERE i.id = ANY (ARRAY(SELECT incident_id FROM linked_members))
      AND NOT (daterange(i.occurred_from, i.occurred_to, '[]') && daterange($1::date, $2::date, '[]'))
),
member_facts AS (
    SELECT m.cluster_id, m.incident_id, m.in_window, m.attributed_to,
           (p.w_from <= m.occurred_from AND m.occurred_to <= p.w_to) AS inside,
           COALESCE((cardinality(p.countries) = 0 OR m.country = ANY (p.countries))
                AND (cardinality(p.admin1s) = 0 OR m.admin1 = ANY (p.admin1s))
                AND (cardinality(p.localities) = 0 OR m.locality = ANY (p.localities))
                AND (cardinality(p.attributed) = 0 OR m.attributed_to && p.attributed), false) AS chosen
    FROM member_incidents m, params p
),
-- Selected clusters: a member passes the filters. Inside when every member is.
clusters AS (
    SELECT cluster_id, bool_and(inside) AS inside FROM member_facts
    GROUP BY cluster_id HAVING bool_or(chosen)
),
-- Per member, through the history index: a plain join let the planner, which cannot see how few
-- members a CTE holds, scan every assessment of the selected sources, a cost that grew with the table.
current_assessments AS (
    SELECT m.cluster_id, m.inside, m.in_window AND m.chosen AS by_source, a.*
    FROM member_facts m
    JOIN clusters USING (cluster_id)
    CROSS JOIN params p
    CROSS JOIN LATERAL (
        SELECT DISTINCT ON (x.source_id)
               x.source_id, x.incident_id, x.verdict,
               x.killed_min, x.killed_max, x.injured_min, x.injured_max
        FROM assessments x
        WHERE x.incident_id = m.incident_id AND x.source_id = ANY (p.sources)
          AND x.assessed_on <= p.as_of
        -- Backwards along the history index, so that no member needs a sort of its own.
        ORDER BY x.source_id DESC, x.assessed_on DESC, x.recorded_at DESC, x.id DESC
    ) a
),
graded AS (
    SELECT c.*, civcas_tier(c.verdict) AS tier FROM current_assessments c WHERE c.verdict <> 'duplicate'
),
-- Rule 3 from the same assessments: the chosen incidents in the window, each on its own.
source_graded AS (
    SELECT source_id, verdict, inside, tier, killed_min, killed_max, injured_min, injured_max
    FROM graded WHERE by_source
),
-- Each cluster's belligerents, once: joined by equality (hashed), where a correlated EXISTS over
-- member_facts per row made the disputes and gaps below quadratic in the window's size.
cluster_belligerents AS (
    SELECT DISTINCT m.cluster_id, party
    FROM member_facts m CROSS JOIN LATERAL unnest(m.attributed_to) AS party
),
{cluster_sources},
-- Rule 4: the smallest min and the largest max among the sources' figures; never a sum.
cluster_figure AS (
    SELECT f.cluster_id, f.tier, cl.inside,
           min(f.k_min) AS k_min, max(f.k_max) AS k_max, bool_or(f.k_unbounded) AS k_unbounded,
           count(f.k_min) > 0 AS k_has,
           min(f.j_min) AS j_min, max(f.j_max) AS j_max, bool_or(f.j_unbounded) AS j_unbounded,
           count(f.j_min) > 0 AS j_has
    FROM source_figure f JOIN clusters cl USING (cluster_id)
    GROUP BY f.cluster_id, f.tier, cl.inside
),
gap_sources AS (
    SELECT s.id, s.belligerent FROM sources s, params p
    WHERE s.id = ANY (p.sources) AND EXISTS (SELECT 1 FROM assessments a WHERE a.source_id = s.id)
),
covered AS (SELECT DISTINCT cluster_id, source_id FROM current_assessments),
gaps AS (
    SELECT gs.id AS source_id, lc.cluster_id
    FROM gap_sources gs
    CROSS JOIN (SELECT cluster_id FROM cluster_figure WHERE tier = 3) lc
    LEFT JOIN covered c ON c.cluster_id = lc.cluster_id AND c.source_id = gs.id
    LEFT JOIN cluster_belligerents cb ON cb.cluster_id = lc.cluster_id AND cb.party = gs.belligerent
    WHERE c.cluster_id IS NULL
      AND (gs.belligerent IS NULL OR cb.cluster_id IS NOT NULL)
),
totals AS (
    SELECT f.tier, d.cluster_id IS NOT NULL AS disputed,
           f.inside, f.k_min, f.k_max, f.k_unbounded, f.k_has, f.j_min, f.j_max, f.j_unbounded, f.j_has
    FROM cluster_figure f LEFT JOIN disputed d USING (cluster_id)
)
SELECT json_build_object(
    'sources', {source_sums},
    'tiers', (
        SELECT COALESCE(json_agg(x ORDER BY x.tier DESC), '[]'::json) FROM (
            SELECT tier, count(*) FILTER (WHERE inside) AS inside, count(*) FILTER (WHERE NOT inside) AS boundary,
                   COALESCE(sum(k_min) FILTER (WHERE inside AND k_has), 0)::bigint AS k_min,
                   COALESCE(sum(k_max) FILTER (WHERE k_has AND NOT k_unbounded), 0)::bigint AS k_max_bounded,
                   count(*) FILTER (WHERE k_has AND k_unbounded) AS k_unbounded,
                   count(*) FILTER (WHERE NOT k_has) AS k_without,
                   COALESCE(sum(j_min) FILTER (WHERE inside AND j_has), 0)::bigint AS j_min,
                   COALESCE(sum(j_max) FILTER (WHERE j_has AND NOT j_unbounded), 0)::bigint AS j_max_bounded,
                   count(*) FILTER (WHERE j_has AND j_unbounded) AS j_unbounded,
                   count(*) FILTER (WHERE NOT j_has) AS j_without
            FROM totals GROUP BY tier
            UNION ALL
            -- The disputed clusters' own figures, at LIKELY, reported as tier 0.
            SELECT 0, count(*) FILTER (WHERE inside), count(*) FILTER (WHERE NOT inside),
                   COALESCE(sum(k_min) FILTER (WHERE inside AND k_has), 0)::bigint,
                   COALESCE(sum(k_max) FILTER (WHERE k_has AND NOT k_unbounded), 0)::bigint,
                   count(*) FILTER (WHERE k_has AND k_unbounded), count(*) FILTER (WHERE NOT k_has),
                   COALESCE(sum(j_min) FILTER (WHERE inside AND j_has), 0)::bigint,
                   COALESCE(sum(j_max) FILTER (WHERE j_has AND NOT j_unbounded), 0)::bigint,
                   count(*) FILTER (WHERE j_has AND j_unbounded), count(*) FILTER (WHERE NOT j_has)
            FROM totals WHERE tier = 3 AND disputed
        ) x
    ),
    'disputed_ids', (
        SELECT COALESCE(json_agg(cluster_id ORDER BY cluster_id), '[]'::json)
        FROM (SELECT cluster_id FROM disputed ORDER BY cluster_id LIMIT 100) d
    ),
    -- Bytewise, as the reference implementation orders ids, whatever the database's collation.
    'gap_sources', (SELECT COALESCE(json_agg(id ORDER BY id COLLATE "C"), '[]'::json) FROM gap_sources),
    'gaps', (
        SELECT COALESCE(json_agg(g ORDER BY g.source_id), '[]'::json) FROM (
            SELECT source_id, count(*) AS clusters,
                   (array_agg(cluster_id ORDER BY cluster_id))[1:100] AS cluster_ids
            FROM gaps GROUP BY source_id
        ) g
    )
)::text AS document
