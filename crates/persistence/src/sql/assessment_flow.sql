-- Rule 7: one source's flow over [$2, $3], from its whole history (as_of does not apply), as one
-- JSON document. $1: the source.
WITH
history AS (
    SELECT a.incident_id, a.verdict, a.killed_min, a.assessed_on,
           lag(a.verdict) OVER w AS previous,
           row_number() OVER w AS step
    FROM assessments a
    WHERE a.source_id = $1
    WINDOW w AS (PARTITION BY a.incident_id ORDER BY a.assessed_on, a.recorded_at, a.id)
),
in_window AS (SELECT * FROM history WHERE assessed_on BETWEEN $2::date AND $3::date),
state_before AS (
    SELECT DISTINCT ON (incident_id) incident_id, verdict FROM history
    WHERE assessed_on < $2::date ORDER BY incident_id, step DESC
),
state_at_end AS (
    SELECT DISTINCT ON (incident_id) incident_id, verdict FROM history
    WHERE assessed_on <= $3::date ORDER BY incident_id, step DESC
),
finals AS (
    SELECT verdict, killed_min, previous IS NOT NULL AND previous <> 'open' AS after_final
    FROM in_window WHERE verdict <> 'open'
)
SELECT json_build_object(
    'open_at_start', (SELECT count(*) FROM state_before WHERE verdict = 'open'),
    'received', (SELECT count(*) FROM in_window WHERE step = 1),
    'completed', (SELECT COALESCE(json_object_agg(verdict, n), '{}'::json) FROM (
        SELECT verdict, count(*) AS n FROM finals WHERE NOT after_final GROUP BY verdict) c),
    'reassessed', (SELECT COALESCE(json_object_agg(verdict, n), '{}'::json) FROM (
        SELECT verdict, count(*) AS n FROM finals WHERE after_final GROUP BY verdict) r),
    'reopened', (SELECT count(*) FROM in_window
                 WHERE verdict = 'open' AND previous IS NOT NULL AND previous <> 'open'),
    'completed_deaths', (SELECT COALESCE(sum(killed_min), 0)::bigint FROM finals
                         WHERE NOT after_final AND verdict IN ('confirmed', 'credible')),
    'open_at_end', (SELECT count(*) FROM state_at_end WHERE verdict = 'open')
)::text AS document
