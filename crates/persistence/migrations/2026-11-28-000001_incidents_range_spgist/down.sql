DROP INDEX incidents_occurred_range_idx;
CREATE INDEX incidents_occurred_range_idx ON incidents USING gist (daterange(occurred_from, occurred_to, '[]'));
