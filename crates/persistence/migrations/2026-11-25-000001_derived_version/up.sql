-- The derived figures' version. Every refresh adds one in its own transaction, and nothing else
-- writes the derived figures, so two snapshots that see the same version and no pending incident
-- see the same derived figures: an answer read from them may be kept, and served again, for as long
-- as the version stays the same (see `DerivedAnswers` in crates/persistence/src/derived.rs).
CREATE TABLE derived.version (
    single boolean PRIMARY KEY DEFAULT true CHECK (single),
    version bigint NOT NULL
);
INSERT INTO derived.version (version) VALUES (0);
