-- The database, not the refresh's statement, draws a version's stamp: every update that moves the
-- number gets a new stamp and keeps the one it replaced. A server older than the stamp, still running
-- during a rolling deploy, adds one to the number alone; its refreshes, too, must tell a lost
-- history's version from the new one's of the same number (see the migration that added the stamp).
CREATE FUNCTION derived.draw_version_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version IS DISTINCT FROM OLD.version THEN
        NEW.previous_stamp := OLD.stamp;
        NEW.stamp := (random() * 9e18)::bigint;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER draw_stamp BEFORE UPDATE ON derived.version
    FOR EACH ROW EXECUTE FUNCTION derived.draw_version_stamp();
