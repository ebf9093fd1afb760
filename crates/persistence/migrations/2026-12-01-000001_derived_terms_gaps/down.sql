CREATE OR REPLACE FUNCTION derived.terms(span daterange, members datemultirange)
RETURNS TABLE (kind "char", first date, last date) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 's'::"char", lower(span), upper(span) - 1
    UNION ALL
    SELECT 'm'::"char", lower(run), upper(run) - 1 FROM unnest(members) AS run
    UNION ALL
    SELECT 'j'::"char", last, next_first FROM (
        SELECT upper(run) - 1 AS last, lead(lower(run)) OVER (ORDER BY lower(run)) AS next_first
        FROM unnest(members) AS run
    ) pairs
    WHERE next_first IS NOT NULL
$$;
