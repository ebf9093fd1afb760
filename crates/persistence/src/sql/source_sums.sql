-- Rule 3's sums, shared by source_figures.sql and window_figures.sql, which splice this expression
-- in where they write {source_sums}: each source's current assessments counted by verdict, and summed
-- per tier, from a CTE `source_graded` (source_id, verdict, inside, tier, killed_min, killed_max,
-- injured_min, injured_max) of the chosen incidents in the window. It must end with the expression,
-- not a comment, which would swallow what follows it where it is spliced in.
json_build_object(
    'verdicts', (
        SELECT COALESCE(json_agg(v), '[]'::json) FROM (
            SELECT source_id, verdict, count(*) FILTER (WHERE inside) AS inside,
                   count(*) FILTER (WHERE NOT inside) AS boundary
            FROM source_graded GROUP BY source_id, verdict
        ) v
    ),
    'tiers', (
        SELECT COALESCE(json_agg(x), '[]'::json) FROM (
            SELECT g.source_id, t.tier,
                   count(*) FILTER (WHERE g.inside) AS inside, count(*) FILTER (WHERE NOT g.inside) AS boundary,
                   COALESCE(sum(g.killed_min) FILTER (WHERE g.inside), 0)::bigint AS k_min,
                   COALESCE(sum(g.killed_max), 0)::bigint AS k_max_bounded,
                   count(*) FILTER (WHERE g.killed_min IS NOT NULL AND g.killed_max IS NULL) AS k_unbounded,
                   count(*) FILTER (WHERE g.killed_min IS NULL) AS k_without,
                   COALESCE(sum(g.injured_min) FILTER (WHERE g.inside), 0)::bigint AS j_min,
                   COALESCE(sum(g.injured_max), 0)::bigint AS j_max_bounded,
                   count(*) FILTER (WHERE g.injured_min IS NOT NULL AND g.injured_max IS NULL) AS j_unbounded,
                   count(*) FILTER (WHERE g.injured_min IS NULL) AS j_without
            FROM source_graded g JOIN (VALUES (4), (3), (2)) AS t (tier) ON g.tier >= t.tier
            GROUP BY g.source_id, t.tier
        ) x
    )
)
