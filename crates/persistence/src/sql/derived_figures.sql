-- Rules 2 to 5 for one window from the derived figures (schema `derived`), for a query with no
-- `as_of` and no filter: the same document as window_figures.sql, at a cost that grows with the
-- window's months, not with its incidents.
--
-- The caller reads it only when its snapshot holds no pending write (see `DerivedAnswers` in
-- derived.rs), and otherwise computes in full. The sums are kept per interval (see `derived.terms`): a
-- cluster's span ('s') inside the window makes it inside; its runs ('m') overlapping the window, less
-- its consecutive pairs of runs ('j') inside the window, count it once when it meets the window.
-- Incidents (rule 3) are single runs.
--
-- An interval is inside [from, to] when it starts in it and ends by `to`; it overlaps it when it
-- starts in it or holds `from` and the day before. Both are read by the month for the window's whole
-- months [a, b], and by the day for the partial months before a and after b, and for the intervals
-- that start in the whole months and end after them. Parameters: $1 from, $2 to, $3 a, $4 b, $5 the
-- first day of b's month. A window without a whole month has a = to + 1 and b = to, and is read by
-- the day alone.
WITH
-- (grain, first, last) of the intervals inside the window, and of those starting in it. Each range
-- is read through an index by a subquery of its own (OFFSET 0 keeps the planner from merging it
-- into a join, which it would answer by scanning the whole table).
inside_ranges (grain, first_from, first_to, last_from, last_to) AS (
    VALUES ('m'::"char", $3::date, $5::date, '-infinity'::date, $5::date),
           ('d', $1::date, $3::date - 1, '-infinity', $2::date),
           ('d', $4::date + 1, $2::date, '-infinity', $2::date)
),
starting_ranges (grain, first_from, first_to) AS (
    VALUES ('m'::"char", $3::date, $5::date),
           ('d', $1::date, $3::date - 1),
           ('d', $4::date + 1, $2::date)
),
tier_rows AS (
    SELECT t.* FROM inside_ranges w CROSS JOIN LATERAL (
        SELECT * FROM derived.tier_sums t
        WHERE t.grain = w.grain AND t.kind IN ('s', 'j') AND t.first BETWEEN w.first_from AND w.first_to
          AND t.last BETWEEN w.last_from AND w.last_to
        OFFSET 0
    ) t
    UNION ALL
    -- By the day, those starting in the whole months and ending after them: few, so found through
    -- the index on `last` rather than among every day's rows of the whole months.
    SELECT t.* FROM derived.tier_sums t
    WHERE t.grain = 'd' AND t.kind IN ('s', 'j') AND t.last BETWEEN $4::date + 1 AND $2::date
      AND t.first BETWEEN $3::date AND $4::date
    UNION ALL
    SELECT t.* FROM starting_ranges w CROSS JOIN LATERAL (
        SELECT * FROM derived.tier_sums t
        WHERE t.grain = w.grain AND t.kind = 'm' AND t.first BETWEEN w.first_from AND w.first_to
        OFFSET 0
    ) t
    UNION ALL
    SELECT t.* FROM derived.tier_sums t
    WHERE t.grain = 'd' AND t.kind = 'm'
      AND daterange(t.first, t.last, '[]') @> daterange($1::date - 1, $1::date, '[]')
),
-- Rule 4 per tier, with the disputed clusters (rule 5) apart: `inside` from the spans; every sum
-- over all the clusters that meet the window from the runs less the pairs; `min` over inside ones.
tier_figures AS (
    SELECT tier, disputed,
           COALESCE(sum(clusters) FILTER (WHERE kind = 's'), 0) AS inside,
           COALESCE(sum(CASE kind WHEN 'm' THEN clusters WHEN 'j' THEN -clusters END), 0) AS meeting,
           COALESCE(sum(k_min) FILTER (WHERE kind = 's'), 0) AS k_min,
           COALESCE(sum(CASE kind WHEN 'm' THEN k_max_bounded WHEN 'j' THEN -k_max_bounded END), 0) AS k_max_bounded,
           COALESCE(sum(CASE kind WHEN 'm' THEN k_unbounded WHEN 'j' THEN -k_unbounded END), 0) AS k_unbounded,
           COALESCE(sum(CASE kind WHEN 'm' THEN k_without WHEN 'j' THEN -k_without END), 0) AS k_without,
           COALESCE(sum(j_min) FILTER (WHERE kind = 's'), 0) AS j_min,
           COALESCE(sum(CASE kind WHEN 'm' THEN j_max_bounded WHEN 'j' THEN -j_max_bounded END), 0) AS j_max_bounded,
           COALESCE(sum(CASE kind WHEN 'm' THEN j_unbounded WHEN 'j' THEN -j_unbounded END), 0) AS j_unbounded,
           COALESCE(sum(CASE kind WHEN 'm' THEN j_without WHEN 'j' THEN -j_without END), 0) AS j_without
    FROM tier_rows GROUP BY tier, disputed
),
-- Rule 3: incidents inside the window ('i'), and incidents overlapping it ('o').
verdict_rows AS (
    SELECT 'i' AS form, v.* FROM inside_ranges w CROSS JOIN LATERAL (
        SELECT * FROM derived.verdict_sums v
        WHERE v.grain = w.grain AND v.first BETWEEN w.first_from AND w.first_to
          AND v.last BETWEEN w.last_from AND w.last_to
        OFFSET 0
    ) v
    UNION ALL
    SELECT 'i', v.* FROM derived.verdict_sums v
    WHERE v.grain = 'd' AND v.last BETWEEN $4::date + 1 AND $2::date AND v.first BETWEEN $3::date AND $4::date
    UNION ALL
    SELECT 'o', v.* FROM starting_ranges w CROSS JOIN LATERAL (
        SELECT * FROM derived.verdict_sums v
        WHERE v.grain = w.grain AND v.first BETWEEN w.first_from AND w.first_to
        OFFSET 0
    ) v
    UNION ALL
    SELECT 'o', v.* FROM derived.verdict_sums v
    WHERE v.grain = 'd' AND daterange(v.first, v.last, '[]') @> daterange($1::date - 1, $1::date, '[]')
),
gap_sources AS (
    SELECT s.id, s.belligerent FROM sources s WHERE EXISTS (SELECT 1 FROM assessments a WHERE a.source_id = s.id)
),
-- Rule 5: a source's gaps are the LIKELY clusters it may speak for (its party's, if it has one) that
-- meet the window, less those it covers.
coverage_rows AS (
    SELECT c.* FROM inside_ranges w CROSS JOIN LATERAL (
        SELECT * FROM derived.coverage_sums c
        WHERE c.grain = w.grain AND c.kind = 'j' AND c.first BETWEEN w.first_from AND w.first_to
          AND c.last BETWEEN w.last_from AND w.last_to
        OFFSET 0
    ) c
    UNION ALL
    SELECT c.* FROM derived.coverage_sums c
    WHERE c.grain = 'd' AND c.kind = 'j' AND c.last BETWEEN $4::date + 1 AND $2::date
      AND c.first BETWEEN $3::date AND $4::date
    UNION ALL
    SELECT c.* FROM starting_ranges w CROSS JOIN LATERAL (
        SELECT * FROM derived.coverage_sums c
        WHERE c.grain = w.grain AND c.kind = 'm' AND c.first BETWEEN w.first_from AND w.first_to
        OFFSET 0
    ) c
    UNION ALL
    SELECT c.* FROM derived.coverage_sums c
    WHERE c.grain = 'd' AND c.kind = 'm'
      AND daterange(c.first, c.last, '[]') @> daterange($1::date - 1, $1::date, '[]')
),
-- Materialized: each gap source reads it, and inlined it would be summed again for each.
meeting_coverage AS MATERIALIZED (
    SELECT party, source_id, sum(CASE kind WHEN 'm' THEN clusters ELSE -clusters END) AS clusters
    FROM coverage_rows GROUP BY party, source_id
),
-- The clusters listed by id (the disputed ones, list ''; each source's gaps, list: its id), first
-- 100 of those with a run meeting the window and, for a source with a party, a member of that party.
lists AS (
    SELECT '' AS list, NULL::text AS party
    UNION ALL
    SELECT id, belligerent FROM gap_sources
),
first_listed AS (
    SELECT l.list, CASE WHEN $2::date - $1::date < 200 THEN ARRAY(
        -- A short window: each month's first ids, merged. Its clusters may be few among the list's.
        -- (Measured at 1,000,000 incidents over ten years, the two ways cost the same at about six
        -- months: 3 months 2.0 against 6.0 ms, 1 year 5.2 against 1.6 ms.)
        SELECT DISTINCT cluster_id FROM (
            SELECT m.cluster_id
            FROM generate_series(date_trunc('month', $1::date)::timestamp, $2::date::timestamp,
                                 interval '1 month') AS months (start)
            CROSS JOIN LATERAL (
                SELECT DISTINCT r.cluster_id FROM derived.listed_runs r
                WHERE r.list = l.list AND r.month = months.start::date AND r.first BETWEEN $1::date AND $2::date
                  AND (l.party IS NULL OR l.party = ANY (r.parties))
                ORDER BY r.cluster_id LIMIT 100
            ) m
            UNION ALL
            -- Runs of two days or more: the only ones that can hold two days, and the only ones
            -- indexed by their days (listed_runs_spans_idx).
            SELECT r.cluster_id FROM derived.listed_runs r
            WHERE r.list = l.list AND r.last > r.first
              AND daterange(r.first, r.last, '[]') @> daterange($1::date - 1, $1::date, '[]')
              AND (l.party IS NULL OR l.party = ANY (r.parties))
        ) candidates
        ORDER BY cluster_id LIMIT 100
    ) ELSE ARRAY(
        -- A long window holds a good share of the list: walk it in id order until 100 are found.
        SELECT DISTINCT r.cluster_id FROM derived.listed_runs r
        WHERE r.list = l.list
          AND (r.first BETWEEN $1::date AND $2::date
               OR daterange(r.first, r.last, '[]') @> daterange($1::date - 1, $1::date, '[]'))
          AND (l.party IS NULL OR l.party = ANY (r.parties))
        ORDER BY r.cluster_id LIMIT 100
    ) END AS cluster_ids
    FROM lists l
),
gaps AS (
    SELECT gs.id AS source_id,
           COALESCE((SELECT sum(CASE c.source_id WHEN '' THEN c.clusters ELSE -c.clusters END)
                     FROM meeting_coverage c
                     WHERE c.party = COALESCE(gs.belligerent, '') AND c.source_id IN ('', gs.id)), 0)::bigint
               AS clusters,
           f.cluster_ids
    FROM gap_sources gs JOIN first_listed f ON f.list = gs.id
)
SELECT json_build_object(
    'sources', json_build_object(
        'verdicts', (
            SELECT COALESCE(json_agg(v), '[]'::json) FROM (
                SELECT source_id, verdict,
                       COALESCE(sum(incidents) FILTER (WHERE form = 'i'), 0)::bigint AS inside,
                       (COALESCE(sum(incidents) FILTER (WHERE form = 'o'), 0)
                         - COALESCE(sum(incidents) FILTER (WHERE form = 'i'), 0))::bigint AS boundary
                FROM verdict_rows GROUP BY source_id, verdict
            ) v
        ),
        'tiers', (
            SELECT COALESCE(json_agg(x), '[]'::json) FROM (
                SELECT r.source_id, t.tier,
                       COALESCE(sum(r.incidents) FILTER (WHERE r.form = 'i'), 0)::bigint AS inside,
                       (COALESCE(sum(r.incidents) FILTER (WHERE r.form = 'o'), 0)
                         - COALESCE(sum(r.incidents) FILTER (WHERE r.form = 'i'), 0))::bigint AS boundary,
                       COALESCE(sum(r.k_min) FILTER (WHERE r.form = 'i'), 0)::bigint AS k_min,
                       COALESCE(sum(r.k_max_bounded) FILTER (WHERE r.form = 'o'), 0)::bigint AS k_max_bounded,
                       COALESCE(sum(r.k_unbounded) FILTER (WHERE r.form = 'o'), 0)::bigint AS k_unbounded,
                       COALESCE(sum(r.k_without) FILTER (WHERE r.form = 'o'), 0)::bigint AS k_without,
                       COALESCE(sum(r.j_min) FILTER (WHERE r.form = 'i'), 0)::bigint AS j_min,
                       COALESCE(sum(r.j_max_bounded) FILTER (WHERE r.form = 'o'), 0)::bigint AS j_max_bounded,
                       COALESCE(sum(r.j_unbounded) FILTER (WHERE r.form = 'o'), 0)::bigint AS j_unbounded,
                       COALESCE(sum(r.j_without) FILTER (WHERE r.form = 'o'), 0)::bigint AS j_without
                FROM verdict_rows r JOIN (VALUES (4), (3), (2)) AS t (tier) ON r.tier >= t.tier
                GROUP BY r.source_id, t.tier
            ) x
        )
    ),
    'tiers', (
        SELECT COALESCE(json_agg(x ORDER BY x.tier DESC), '[]'::json) FROM (
            SELECT tier, sum(inside)::bigint AS inside, sum(meeting - inside)::bigint AS boundary,
                   sum(k_min)::bigint AS k_min, sum(k_max_bounded)::bigint AS k_max_bounded,
                   sum(k_unbounded)::bigint AS k_unbounded, sum(k_without)::bigint AS k_without,
                   sum(j_min)::bigint AS j_min, sum(j_max_bounded)::bigint AS j_max_bounded,
                   sum(j_unbounded)::bigint AS j_unbounded, sum(j_without)::bigint AS j_without
            FROM tier_figures GROUP BY tier
            UNION ALL
            -- The disputed clusters' own figures, at LIKELY, reported as tier 0.
            SELECT 0, COALESCE(sum(inside), 0)::bigint, COALESCE(sum(meeting - inside), 0)::bigint,
                   COALESCE(sum(k_min), 0)::bigint, COALESCE(sum(k_max_bounded), 0)::bigint,
                   COALESCE(sum(k_unbounded), 0)::bigint, COALESCE(sum(k_without), 0)::bigint,
                   COALESCE(sum(j_min), 0)::bigint, COALESCE(sum(j_max_bounded), 0)::bigint,
                   COALESCE(sum(j_unbounded), 0)::bigint, COALESCE(sum(j_without), 0)::bigint
            FROM tier_figures WHERE tier = 3 AND disputed
        ) x
    ),
    'disputed_ids', (SELECT to_json(cluster_ids) FROM first_listed WHERE list = ''),
    -- Bytewise, as the reference implementation orders ids, whatever the database's collation.
    'gap_sources', (SELECT COALESCE(json_agg(id ORDER BY id COLLATE "C"), '[]'::json) FROM gap_sources),
    'gaps', (SELECT COALESCE(json_agg(g), '[]'::json) FROM gaps g)
)::text AS document
