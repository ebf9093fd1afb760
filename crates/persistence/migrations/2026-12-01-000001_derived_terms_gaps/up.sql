-- The consecutive pairs of a cluster's runs ('j'), found as the gaps between them: `span` runs from
-- the first run's first day to the last one's last, so `span` less `members` is the gaps, each from
-- the day after a run to the day before the next. The same rows as the window over the sorted runs it
-- replaces, which cost nearly half of the terms' time in a refresh's sums: one sort per cluster, though
-- almost every cluster is a single run and has no pair.
CREATE OR REPLACE FUNCTION derived.terms(span daterange, members datemultirange)
RETURNS TABLE (kind "char", first date, last date) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 's'::"char", lower(span), upper(span) - 1
    UNION ALL
    SELECT 'm'::"char", lower(run), upper(run) - 1 FROM unnest(members) AS run
    UNION ALL
    SELECT 'j'::"char", lower(gap) - 1, upper(gap) FROM unnest(datemultirange(span) - members) AS gap
$$;
