-- A batch's new incidents, references and assessments in one statement (see imports.rs): one round
-- trip whatever the batch holds, and no parameter limit, since every column comes as one array.
--
-- A row's incident is either stored (its id) or the n-th incident the batch creates (n, counted
-- from 1). The new incidents get ids reserved here, joined by n, so that no row depends on the order
-- of a RETURNING clause. Foreign keys are checked at the end of the statement, when the incidents
-- inserted alongside are there.
--
-- A new incident one of whose references is stored already is not created, and nothing is written
-- for it: the caller, who sent it as new without looking (see coalesced.rs) or whose lookup a
-- concurrent commit overtook, finds its n missing from the answer.
--
-- It returns each new incident's n and id, then each new assessment's id with its key; and when it
-- returns any row, it notifies channel $34, once, when the transaction commits. The new incidents'
-- harm, means and infrastructure come last, as $35 to $37.
WITH already_stored AS MATERIALIZED (
    SELECT k.n
    FROM unnest($11::text[], $12::text[], $14::bigint[]) AS k (source_id, external_ref, n)
    JOIN incident_references r USING (source_id, external_ref)
    WHERE k.n IS NOT NULL
), id_sequence AS MATERIALIZED (
    -- Looked up once: per row, the lookup took 23 ms of 5,000 ids' reservation, nextval 2.5.
    SELECT pg_get_serial_sequence('incidents', 'id')::regclass AS sequence
), reserved AS MATERIALIZED (
    SELECT n, nextval(s.sequence) AS id
    FROM id_sequence s, generate_series(1, $1::bigint) AS n
    WHERE n NOT IN (SELECT n FROM already_stored)
), new_incidents AS (
    INSERT INTO incidents (id, occurred_from, occurred_to, country, admin1, locality, latitude,
                           longitude, location_precision, attributed_to, harm, means,
                           infrastructure)
    SELECT r.id, i.occurred_from, i.occurred_to, i.country, i.admin1, i.locality, i.latitude,
           i.longitude, i.location_precision, string_to_array(i.attributed_to, ','),
           string_to_array(i.harm, ','), string_to_array(i.means, ','),
           string_to_array(i.infrastructure, ',')
    FROM unnest($2::date[], $3::date[], $4::text[], $5::text[], $6::text[], $7::float8[],
                $8::float8[], $9::text[], $10::text[], $35::text[], $36::text[], $37::text[])
         WITH ORDINALITY AS i (occurred_from, occurred_to, country, admin1, locality, latitude,
                               longitude, location_precision, attributed_to, harm, means,
                               infrastructure, n)
    JOIN reserved r USING (n)
), new_references AS (
    INSERT INTO incident_references (source_id, external_ref, incident_id)
    SELECT k.source_id, k.external_ref, coalesce(k.stored, r.id)
    FROM unnest($11::text[], $12::text[], $13::bigint[], $14::bigint[])
         AS k (source_id, external_ref, stored, n)
    LEFT JOIN reserved r USING (n)
    WHERE k.stored IS NOT NULL OR r.id IS NOT NULL
), new_assessments AS (
    INSERT INTO assessments (source_id, incident_id, verdict, source_label, killed_min, killed_max,
                             injured_min, injured_max, children_killed_min, children_killed_max,
                             women_killed_min, women_killed_max, men_killed_min, men_killed_max,
                             assessed_on, duplicate_of, citation, notes)
    SELECT a.source_id, coalesce(a.stored, r.id), a.verdict, a.source_label, a.killed_min,
           a.killed_max, a.injured_min, a.injured_max, a.children_killed_min,
           a.children_killed_max, a.women_killed_min, a.women_killed_max, a.men_killed_min,
           a.men_killed_max, a.assessed_on, a.duplicate_of, a.citation, a.notes
    FROM unnest($15::text[], $16::bigint[], $17::bigint[], $18::text[], $19::text[], $20::bigint[],
                $21::bigint[], $22::bigint[], $23::bigint[], $24::bigint[], $25::bigint[],
                $26::bigint[], $27::bigint[], $28::bigint[], $29::bigint[], $30::date[],
                $31::bigint[], $32::text[], $33::text[])
         AS a (source_id, stored, n, verdict, source_label, killed_min, killed_max, injured_min,
               injured_max, children_killed_min, children_killed_max, women_killed_min,
               women_killed_max, men_killed_min, men_killed_max, assessed_on, duplicate_of,
               citation, notes)
    LEFT JOIN reserved r USING (n)
    WHERE a.stored IS NOT NULL OR r.id IS NOT NULL
    RETURNING id, recorded_at, incident_id, source_id, assessed_on
)
-- The notification is an InitPlan, run when the first row is returned, and never if none is.
SELECT stored.*, (SELECT true FROM (SELECT pg_notify($34, '')) AS once) AS notified
FROM (
    SELECT n AS new_incident, id, NULL::timestamptz AS recorded_at, NULL::bigint AS incident_id,
           NULL::text AS source_id, NULL::date AS assessed_on
    FROM reserved
    UNION ALL
    SELECT NULL, id, recorded_at, incident_id, source_id, assessed_on FROM new_assessments
) AS stored
