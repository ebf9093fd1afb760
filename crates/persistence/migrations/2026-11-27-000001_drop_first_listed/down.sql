-- The function as 2026-11-24-000001_derived_figures made it.
-- The first 100 ids of the clusters on `list` that meet [w_from, w_to] (a run starts in it, or holds
-- its first day and the day before), and that have a member attributed to `party` when one is given.
CREATE FUNCTION derived.first_listed(list text, party text, w_from date, w_to date) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN w_to - w_from < 400 THEN ARRAY(
        -- A short window: each month's first ids, merged. Its clusters may be few among the list's.
        SELECT DISTINCT cluster_id FROM (
            SELECT m.cluster_id
            FROM generate_series(date_trunc('month', w_from)::timestamp, w_to::timestamp, interval '1 month') AS month
            CROSS JOIN LATERAL (
                SELECT DISTINCT r.cluster_id FROM derived.listed_runs r
                WHERE r.list = first_listed.list AND r.month = month::date
                  AND r.first BETWEEN w_from AND w_to AND (party IS NULL OR party = ANY (r.parties))
                ORDER BY r.cluster_id LIMIT 100
            ) m
            UNION ALL
            SELECT r.cluster_id FROM derived.listed_runs r
            WHERE r.list = first_listed.list
              AND daterange(r.first, r.last, '[]') @> daterange(w_from - 1, w_from, '[]')
              AND (party IS NULL OR party = ANY (r.parties))
        ) candidates
        ORDER BY cluster_id LIMIT 100
    ) ELSE ARRAY(
        -- A long window holds a good share of the list: walk it in id order until 100 are found.
        SELECT DISTINCT r.cluster_id FROM derived.listed_runs r
        WHERE r.list = first_listed.list
          AND (r.first BETWEEN w_from AND w_to
               OR daterange(r.first, r.last, '[]') @> daterange(w_from - 1, w_from, '[]'))
          AND (party IS NULL OR party = ANY (r.parties))
        ORDER BY r.cluster_id LIMIT 100
    ) END
$$;
