-- Rule 6: for each revision chain of each selected source, the latest statement as of $3 whose
-- period overlaps [$1, $2] and that the filters choose: its countries meet $4 (empty: any), its
-- attribution meets $5 (empty: any; the scope `all` meets anything). $6: the selected sources.
SELECT DISTINCT ON (s.chain_key) s.id
FROM statements s
WHERE s.source_id = ANY ($6::text[])
  AND s.published_on <= COALESCE($3::date, 'infinity'::date)
  AND s.period_from <= $2::date AND s.period_to >= $1::date
  AND (cardinality($4::text[]) = 0 OR s.countries && $4::text[])
  AND (cardinality($5::text[]) = 0 OR s.attributed_to = 'all' OR s.attributed_to = ANY ($5::text[]))
ORDER BY s.chain_key, s.published_on DESC, s.recorded_at DESC, s.id DESC
