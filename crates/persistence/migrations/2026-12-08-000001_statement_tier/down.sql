ALTER TABLE statements DROP COLUMN tier;
