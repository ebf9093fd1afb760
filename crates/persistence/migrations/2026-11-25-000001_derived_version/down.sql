DROP TABLE derived.version;
