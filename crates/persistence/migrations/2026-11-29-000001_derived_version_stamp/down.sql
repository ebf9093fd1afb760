ALTER TABLE derived.version DROP COLUMN stamp, DROP COLUMN previous_stamp;
