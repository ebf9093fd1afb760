-- The document of what a refresh changes in the figures held in memory (see `Changes` in held.rs):
-- the day grain's signed changes of the sums, the clusters taken out, the runs listed anew, and the
-- sources whose gaps are reported. From the relations `refresh_rows`, `refresh_verdicts` (see
-- signed_sums.sql), `refresh_stale (cluster_id)` and `refresh_member (incident_id, cluster_id)`.
-- Shared by pending_figures.sql, for the refresh to come, and by derived.rs, for the one
-- just run, which splice it in where they write {changes_document}, after WITH or a CTE's comma.
{signed_sums},
-- The sources whose gaps are reported now, as derived_figures.sql finds them, and whether the
-- derived figures list their gaps yet (those registered since the last refresh are not).
gap_sources AS (
    SELECT s.id, s.belligerent,
           EXISTS (SELECT 1 FROM derived.gap_sources g WHERE g.source_id = s.id) AS listed
    FROM sources s WHERE EXISTS (SELECT 1 FROM assessments a WHERE a.source_id = s.id)
),
-- The runs the refresh will list, of the lists that are read (see HeldFigures::read): the disputed
-- clusters, and each gap source's gaps of its party's clusters.
added_runs AS (
    SELECT l.list, r.cluster_id, lower(run) AS first, upper(run) - 1 AS last
    FROM refresh_rows r
    CROSS JOIN LATERAL (
        SELECT '' AS list WHERE r.disputed
        UNION ALL
        SELECT g.id FROM gap_sources g
        WHERE NOT g.id = ANY (r.covered) AND (g.belligerent IS NULL OR g.belligerent = ANY (r.parties))
    ) l
    CROSS JOIN LATERAL unnest(r.members) AS run
    WHERE r.sign = 1 AND r.tier = 3
)
SELECT json_build_object(
    -- Whether these changes are all there is to add: a former cluster's member that was not walked
    -- would be lost (the refresh refuses it), and a source's gaps not listed yet are not held.
    'complete',
        NOT EXISTS (
            SELECT 1 FROM refresh_stale s
            CROSS JOIN LATERAL (
                SELECT m.incident_id FROM derived.cluster_members m WHERE m.cluster_id = s.cluster_id OFFSET 0
            ) m
            WHERE NOT EXISTS (SELECT 1 FROM refresh_member r WHERE r.incident_id = m.incident_id)
        )
        AND NOT EXISTS (SELECT 1 FROM gap_sources WHERE NOT listed),
    'gap_sources', (SELECT COALESCE(json_agg(json_build_object('id', id, 'belligerent', belligerent)), '[]')
                    FROM gap_sources),
    'stale', (SELECT COALESCE(json_agg(cluster_id), '[]') FROM refresh_stale),
    'tiers', (SELECT COALESCE(json_agg(t), '[]') FROM (
        SELECT kind, tier, disputed, first, last, clusters AS count, k_min, k_max_bounded, k_unbounded,
               k_without, j_min, j_max_bounded, j_unbounded, j_without
        FROM tier_changes) t),
    'verdicts', (SELECT COALESCE(json_agg(v), '[]') FROM (
        SELECT source_id, verdict, tier, first, last, incidents AS count, k_min, k_max_bounded,
               k_unbounded, k_without, j_min, j_max_bounded, j_unbounded, j_without
        FROM verdict_changes) v),
    'coverage', (SELECT COALESCE(json_agg(c), '[]') FROM coverage_changes c),
    'runs', (SELECT COALESCE(json_agg(r), '[]') FROM added_runs r)
)::text AS document
