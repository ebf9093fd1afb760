ALTER TABLE incidents DROP COLUMN harm, DROP COLUMN means, DROP COLUMN infrastructure;
