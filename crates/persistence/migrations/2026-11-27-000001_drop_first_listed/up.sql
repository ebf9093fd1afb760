-- derived.first_listed was the first form of the listed ids' query. derived_figures.sql has read the
-- lists itself since, with its own threshold between short and long windows and only the runs that
-- the GiST index holds (see 2026-11-26-000001_listed_spans_index), and nothing called the function;
-- left in place it read as the rule, and its threshold differed.
DROP FUNCTION derived.first_listed(text, text, date, date);
