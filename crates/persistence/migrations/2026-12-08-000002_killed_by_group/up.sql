-- Children, women and men killed, each an optional range like killed: no min means no figure.
ALTER TABLE assessments
    ADD COLUMN children_killed_min bigint CHECK (children_killed_min >= 0),
    ADD COLUMN children_killed_max bigint,
    ADD COLUMN women_killed_min bigint CHECK (women_killed_min >= 0),
    ADD COLUMN women_killed_max bigint,
    ADD COLUMN men_killed_min bigint CHECK (men_killed_min >= 0),
    ADD COLUMN men_killed_max bigint,
    ADD CHECK (children_killed_max IS NULL
               OR (children_killed_min IS NOT NULL AND children_killed_max >= children_killed_min)),
    ADD CHECK (women_killed_max IS NULL
               OR (women_killed_min IS NOT NULL AND women_killed_max >= women_killed_min)),
    ADD CHECK (men_killed_max IS NULL
               OR (men_killed_min IS NOT NULL AND men_killed_max >= men_killed_min));
