-- The incidents that overlap a window are found through an index on their days. GiST chose where to
-- put each new entry by comparing it with the entries of every level down (range_gist_penalty), and
-- that was two thirds of an import's insert of new incidents: of its 84 to 95 ms in a 5,000-row
-- message's 250, at 300,000 incidents, 27 were left with the index dropped. SP-GiST's quad tree of
-- (first day, last day) places an entry by its quadrant: the insert took 41 ms, and a window's
-- overlap search reads no false matches (a month at 300,000 incidents: 2,484 index entries for
-- 2,484 incidents, against GiST's 4,524). docs/BENCHMARKS.md, finding 20.
DROP INDEX incidents_occurred_range_idx;
CREATE INDEX incidents_occurred_range_idx ON incidents USING spgist (daterange(occurred_from, occurred_to, '[]'));
