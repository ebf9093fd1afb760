-- Rule 3 for one window: each selected source's current assessments of the chosen incidents in the
-- window, counted by verdict and summed per tier (source_sums.sql), as one JSON document. It serves
-- the statements' own figures; a whole answer takes rule 3 from window_figures.sql. Parameters as for
-- window_figures.sql: $1 from, $2 to, $3 as_of, $4 countries, $5 admin1, $6 attributed_to,
-- $7 the sources, $8 localities.
WITH
params AS (
    SELECT $1::date AS w_from, $2::date AS w_to, COALESCE($3::date, 'infinity'::date) AS as_of,
           $4::text[] AS countries, $5::text[] AS admin1s, $6::text[] AS attributed, $7::text[] AS sources,
           $8::text[] AS localities
),
chosen AS (
    SELECT i.id, (p.w_from <= i.occurred_from AND i.occurred_to <= p.w_to) AS inside
    FROM incidents i, params p
    WHERE daterange(i.occurred_from, i.occurred_to, '[]') && daterange(p.w_from, p.w_to, '[]')
      AND (cardinality(p.countries) = 0 OR i.country = ANY (p.countries))
      AND (cardinality(p.admin1s) = 0 OR i.admin1 = ANY (p.admin1s))
      AND (cardinality(p.localities) = 0 OR i.locality = ANY (p.localities))
      AND (cardinality(p.attributed) = 0 OR i.attributed_to && p.attributed)
),
current_assessments AS (
    SELECT DISTINCT ON (a.source_id, a.incident_id)
           a.source_id, a.incident_id, a.verdict, a.killed_min, a.killed_max, a.injured_min, a.injured_max
    FROM chosen c JOIN assessments a ON a.incident_id = c.id CROSS JOIN params p
    WHERE a.source_id = ANY (p.sources) AND a.assessed_on <= p.as_of
    ORDER BY a.source_id, a.incident_id, a.assessed_on DESC, a.recorded_at DESC, a.id DESC
),
source_graded AS (
    SELECT ca.source_id, ca.verdict, c.inside, ca.killed_min, ca.killed_max, ca.injured_min, ca.injured_max,
           civcas_tier(ca.verdict) AS tier
    FROM current_assessments ca JOIN chosen c ON c.id = ca.incident_id
    WHERE ca.verdict <> 'duplicate'
)
SELECT {source_sums}::text AS document
