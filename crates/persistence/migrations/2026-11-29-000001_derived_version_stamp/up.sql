-- Every refresh draws a stamp at random beside the number it adds one to, and keeps the one it
-- replaced, so that a version of the derived figures is told apart from another history's version
-- of the same number: after a failover that lost the last refresh's commit, or a restore from a
-- backup, the refreshes count the same numbers again over other data, and the server must not answer
-- from figures it holds, or answers it kept, at the lost version (see `Version` in
-- crates/persistence/src/derived.rs).
ALTER TABLE derived.version
    ADD COLUMN stamp bigint NOT NULL DEFAULT 0,
    ADD COLUMN previous_stamp bigint NOT NULL DEFAULT 0;
UPDATE derived.version SET stamp = (random() * 9e18)::bigint;
