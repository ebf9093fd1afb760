DROP TABLE idempotency_keys;
DROP TABLE statements;
DROP TABLE assessments;
DROP TABLE incident_links;
DROP TABLE incident_references;
DROP TABLE incidents;
DROP TABLE sources;
DROP FUNCTION civcas_forbid_change();
