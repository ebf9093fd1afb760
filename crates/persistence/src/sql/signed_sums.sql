-- What the signed rows of a refresh change in the day grain of the sums: CTEs `tier_changes`,
-- `coverage_changes` and `verdict_changes`, shaped as derived.tier_sums, coverage_sums and
-- verdict_sums without their grain, from the relations `refresh_rows` (sign, then the columns of
-- derived.cluster_tiers) and `refresh_verdicts` (sign, then those of derived.current_verdicts); -1
-- takes a row out, 1 puts one in. An interval whose changes cancel out, as when a cluster or verdict
-- is taken out and put back as it was (a write that changes one tier of a cluster), has no row: the
-- tables would update every index of its row for nothing, and the figures held would carry it in
-- each layer. Shared by refresh_derived.sql, which adds them to the tables, and
-- changes_document.sql, which hands them to the figures held in memory; they splice it in where they
-- write {signed_sums}. It must end with the CTE, not a comment.
tier_changes AS (
    SELECT * FROM (
        SELECT t.kind, t.first, t.last, r.tier, r.disputed,
               sum(r.sign) AS clusters,
               sum(r.sign * COALESCE(r.k_min, 0)) AS k_min,
               sum(r.sign * CASE WHEN r.k_min IS NOT NULL AND NOT r.k_unbounded THEN r.k_max ELSE 0 END) AS k_max_bounded,
               sum(r.sign * (r.k_min IS NOT NULL AND r.k_unbounded)::int) AS k_unbounded,
               sum(r.sign * (r.k_min IS NULL)::int) AS k_without,
               sum(r.sign * COALESCE(r.j_min, 0)) AS j_min,
               sum(r.sign * CASE WHEN r.j_min IS NOT NULL AND NOT r.j_unbounded THEN r.j_max ELSE 0 END) AS j_max_bounded,
               sum(r.sign * (r.j_min IS NOT NULL AND r.j_unbounded)::int) AS j_unbounded,
               sum(r.sign * (r.j_min IS NULL)::int) AS j_without
        FROM refresh_rows r CROSS JOIN LATERAL derived.terms(r.span, r.members) t
        GROUP BY t.kind, t.first, t.last, r.tier, r.disputed
    ) c
    WHERE (clusters, k_min, k_max_bounded, k_unbounded, k_without, j_min, j_max_bounded, j_unbounded, j_without)
          <> (0, 0, 0, 0, 0, 0, 0, 0, 0)
),
coverage_changes AS (
    SELECT t.kind, t.first, t.last, party, source_id, sum(r.sign) AS clusters
    FROM refresh_rows r
    CROSS JOIN LATERAL derived.terms(r.span, r.members) t
    CROSS JOIN LATERAL unnest(array_append(r.parties, '')) AS party
    CROSS JOIN LATERAL unnest(array_append(r.covered, '')) AS source_id
    WHERE r.tier = 3 AND t.kind <> 's'
    GROUP BY t.kind, t.first, t.last, party, source_id
    HAVING sum(r.sign) <> 0
),
verdict_changes AS (
    SELECT * FROM (
        SELECT lower(v.occurred) AS first, upper(v.occurred) - 1 AS last, v.source_id, v.verdict,
               min(v.tier) AS tier, sum(v.sign) AS incidents,
               sum(v.sign * COALESCE(v.killed_min, 0)) AS k_min, sum(v.sign * COALESCE(v.killed_max, 0)) AS k_max_bounded,
               sum(v.sign * (v.killed_min IS NOT NULL AND v.killed_max IS NULL)::int) AS k_unbounded,
               sum(v.sign * (v.killed_min IS NULL)::int) AS k_without,
               sum(v.sign * COALESCE(v.injured_min, 0)) AS j_min, sum(v.sign * COALESCE(v.injured_max, 0)) AS j_max_bounded,
               sum(v.sign * (v.injured_min IS NOT NULL AND v.injured_max IS NULL)::int) AS j_unbounded,
               sum(v.sign * (v.injured_min IS NULL)::int) AS j_without
        FROM refresh_verdicts v
        GROUP BY 1, 2, v.source_id, v.verdict
    ) c
    WHERE (incidents, k_min, k_max_bounded, k_unbounded, k_without, j_min, j_max_bounded, j_unbounded, j_without)
          <> (0, 0, 0, 0, 0, 0, 0, 0, 0)
)
