-- Rule 6: for each revision chain of each selected source, the latest statement as of $3 whose
-- period overlaps [$1, $2] and that the filters choose: its countries meet $4 (empty: any), its
-- attribution meets $5 (empty: any; the scope `all` meets anything). $6: the selected sources.
-- Whole rows by source and id, so that an answer reads them in one statement, prepared once.
SELECT s.id, s.source_id, s.measure, s.count_min, s.count_max, s.qualifier, s.definition,
       s.period_from, s.period_to, s.countries, s.admin1, s.locality, s.attributed_to,
       s.published_on, s.citation, s.notes, s.recorded_at
FROM statements s
WHERE s.id IN (
    SELECT DISTINCT ON (c.chain_key) c.id
    FROM statements c
    WHERE c.source_id = ANY ($6::text[])
      AND c.published_on <= COALESCE($3::date, 'infinity'::date)
      AND c.period_from <= $2::date AND c.period_to >= $1::date
      AND (cardinality($4::text[]) = 0 OR c.countries && $4::text[])
      AND (cardinality($5::text[]) = 0 OR c.attributed_to = 'all' OR c.attributed_to = ANY ($5::text[]))
    ORDER BY c.chain_key, c.published_on DESC, c.recorded_at DESC, c.id DESC
)
ORDER BY s.source_id, s.id
