-- The listed runs that hold a window's first day and the day before are found through a GiST index
-- on the runs' days. A run of one day holds no two days, and most runs are of one day, yet every
-- one was indexed: a refresh spent about 0.1 ms on each listed row it added, mostly choosing where
-- in that index to put it (docs/BENCHMARKS.md, finding 15). Only the runs of two days or more are
-- indexed now; derived_figures.sql states the same condition, so that the planner may use it.
DROP INDEX derived.listed_runs_runs_idx;
CREATE INDEX listed_runs_spans_idx ON derived.listed_runs USING gist (daterange(first, last, '[]'))
    WHERE last > first;
