ALTER TABLE assessments
    DROP COLUMN children_killed_min,
    DROP COLUMN children_killed_max,
    DROP COLUMN women_killed_min,
    DROP COLUMN women_killed_max,
    DROP COLUMN men_killed_min,
    DROP COLUMN men_killed_max;
