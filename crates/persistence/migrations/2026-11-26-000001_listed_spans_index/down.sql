DROP INDEX derived.listed_runs_spans_idx;
CREATE INDEX listed_runs_runs_idx ON derived.listed_runs USING gist (daterange(first, last, '[]'));
