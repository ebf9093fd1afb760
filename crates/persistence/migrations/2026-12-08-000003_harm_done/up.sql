-- What harmed and what was hit: slugs of the domain's vocabularies (crates/domain/src/harm.rs),
-- which the server checks before it writes.
ALTER TABLE incidents
    ADD COLUMN harm text[] NOT NULL DEFAULT '{}',
    ADD COLUMN means text[] NOT NULL DEFAULT '{}',
    ADD COLUMN infrastructure text[] NOT NULL DEFAULT '{}';
