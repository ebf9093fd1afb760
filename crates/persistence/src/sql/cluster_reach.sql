-- The cluster walk, shared by window_figures.sql and refresh_derived.sql, which splice it in where they
-- write {cluster_reach}: from each incident of a CTE `walk_from (id)` that some link or DUPLICATE
-- verdict names (current or not: a superseded verdict only costs a short walk), every incident that
-- explicit links and DUPLICATE verdicts current as of `params.as_of` connect it to. It needs a CTE
-- `params (as_of)`, and must end with the CTE, not a comment. An assessment is current when no later
-- one by the same source of the same incident exists as of.
linkable AS (
    SELECT w.id FROM walk_from w JOIN incident_links l ON l.low_incident_id = w.id
    UNION
    SELECT w.id FROM walk_from w JOIN incident_links l ON l.high_incident_id = w.id
    UNION
    SELECT w.id FROM walk_from w JOIN assessments a ON a.incident_id = w.id
    WHERE a.duplicate_of IS NOT NULL
    UNION
    SELECT w.id FROM walk_from w JOIN assessments a ON a.duplicate_of = w.id
),
reach (start, node) AS (
    SELECT id, id FROM linkable
    UNION
    SELECT r.start, n.other
    FROM reach r
    CROSS JOIN LATERAL (
        SELECT l.high_incident_id AS other FROM incident_links l WHERE l.low_incident_id = r.node
        UNION ALL
        SELECT l.low_incident_id FROM incident_links l WHERE l.high_incident_id = r.node
        UNION ALL
        SELECT a.duplicate_of FROM assessments a, params p
        WHERE a.incident_id = r.node AND a.duplicate_of IS NOT NULL AND a.assessed_on <= p.as_of
          AND NOT EXISTS (
              SELECT 1 FROM assessments later
              WHERE later.incident_id = a.incident_id AND later.source_id = a.source_id
                AND later.assessed_on <= p.as_of
                AND (later.assessed_on, later.recorded_at, later.id) > (a.assessed_on, a.recorded_at, a.id))
        UNION ALL
        SELECT a.incident_id FROM assessments a, params p
        WHERE a.duplicate_of = r.node AND a.assessed_on <= p.as_of
          AND NOT EXISTS (
              SELECT 1 FROM assessments later
              WHERE later.incident_id = a.incident_id AND later.source_id = a.source_id
                AND later.assessed_on <= p.as_of
                AND (later.assessed_on, later.recorded_at, later.id) > (a.assessed_on, a.recorded_at, a.id))
    ) n
)
