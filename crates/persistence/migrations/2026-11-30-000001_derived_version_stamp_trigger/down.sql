DROP TRIGGER draw_stamp ON derived.version;
DROP FUNCTION derived.draw_version_stamp();
