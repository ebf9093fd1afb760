-- Rule 3 per incident of a relation `refresh_pending (incident_id)`: each source's current assessment
-- of it, unless DUPLICATE, as the rows of derived.current_verdicts (CTE `incident_verdicts`). Shared
-- by refresh_derived.sql and pending_figures.sql, which splice it in where they write
-- {incident_verdicts}. It must end with the CTE, not a comment.
incident_verdicts AS (
    SELECT i.id AS incident_id, a.source_id, daterange(i.occurred_from, i.occurred_to, '[]') AS occurred,
           a.verdict, civcas_tier(a.verdict) AS tier, a.killed_min, a.killed_max, a.injured_min, a.injured_max
    FROM refresh_pending p
    JOIN incidents i ON i.id = p.incident_id
    CROSS JOIN LATERAL (
        SELECT DISTINCT ON (x.source_id) x.*
        FROM assessments x
        WHERE x.incident_id = i.id
        ORDER BY x.source_id DESC, x.assessed_on DESC, x.recorded_at DESC, x.id DESC
    ) a
    WHERE a.verdict <> 'duplicate'
)
