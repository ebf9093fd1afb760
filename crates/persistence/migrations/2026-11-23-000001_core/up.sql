-- civcas's core tables. Assessments and statements are append-only (enforced by triggers below): a newer
-- record supersedes an older one and history is never rewritten.

CREATE FUNCTION civcas_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TABLE sources (
    id           text PRIMARY KEY,
    display_name text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('military', 'monitor', 'intergovernmental', 'government',
                                                'media', 'academic', 'other')),
    belligerent  text,
    homepage     text,
    methodology  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE incidents (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_from      date NOT NULL,
    occurred_to        date NOT NULL,
    country            text NOT NULL,
    admin1             text,
    locality           text,
    latitude           double precision,
    longitude          double precision,
    location_precision text NOT NULL CHECK (location_precision IN ('exact', 'neighbourhood', 'locality',
                                                                  'district', 'admin1', 'country')),
    attributed_to      text[] NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (occurred_from <= occurred_to),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
-- Window queries ask for incidents overlapping [from, to]: a range index answers overlap directly, and
-- the btree serves "starts within" scans and keyset lists by date.
CREATE INDEX incidents_occurred_range_idx ON incidents USING gist (daterange(occurred_from, occurred_to, '[]'));
CREATE INDEX incidents_occurred_from_idx ON incidents (occurred_from, occurred_to);
CREATE INDEX incidents_country_idx ON incidents (country, occurred_from);

CREATE TABLE incident_references (
    source_id    text NOT NULL REFERENCES sources (id),
    external_ref text NOT NULL,
    incident_id  bigint NOT NULL REFERENCES incidents (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, external_ref)
);
CREATE INDEX incident_references_incident_idx ON incident_references (incident_id);

-- An analyst's link between two reports of one event, stored once with the smaller id first.
CREATE TABLE incident_links (
    low_incident_id  bigint NOT NULL REFERENCES incidents (id),
    high_incident_id bigint NOT NULL REFERENCES incidents (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (low_incident_id, high_incident_id),
    CHECK (low_incident_id < high_incident_id)
);
CREATE INDEX incident_links_high_idx ON incident_links (high_incident_id);

CREATE TABLE assessments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id     text NOT NULL REFERENCES sources (id),
    incident_id   bigint NOT NULL REFERENCES incidents (id),
    verdict       text NOT NULL CHECK (verdict IN ('confirmed', 'credible', 'fair', 'weak', 'contested', 'open',
                                                   'not_credible', 'discounted', 'duplicate')),
    source_label  text NOT NULL DEFAULT '',
    killed_min    bigint CHECK (killed_min >= 0),
    killed_max    bigint,
    injured_min   bigint CHECK (injured_min >= 0),
    injured_max   bigint,
    assessed_on   date NOT NULL,
    duplicate_of  bigint REFERENCES incidents (id),
    citation      text,
    notes         text,
    -- clock_timestamp(), not now(): the time of the insert, after the row locks that order writers,
    -- rather than the start of the transaction, so that recorded_at follows the order of effect.
    recorded_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (killed_max IS NULL OR (killed_min IS NOT NULL AND killed_max >= killed_min)),
    CHECK (injured_max IS NULL OR (injured_min IS NOT NULL AND injured_max >= injured_min)),
    CHECK (duplicate_of IS NULL OR verdict = 'duplicate'),
    CHECK (duplicate_of IS DISTINCT FROM incident_id)
);
-- One source's history of one incident, in the order assessments take effect (rule 1: assessed_on, then
-- recorded_at, then id); also the key of ListAssessments.
CREATE INDEX assessments_history_idx ON assessments (incident_id, source_id, assessed_on, recorded_at, id);
CREATE INDEX assessments_source_idx ON assessments (source_id, assessed_on);
CREATE INDEX assessments_duplicate_of_idx ON assessments (duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE TRIGGER assessments_append_only BEFORE UPDATE OR DELETE ON assessments
    FOR EACH ROW EXECUTE FUNCTION civcas_forbid_change();

CREATE TABLE statements (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id     text NOT NULL REFERENCES sources (id),
    -- Source, measure, definition, area, attribution and period start, joined by the domain.
    chain_key     text NOT NULL,
    measure       text NOT NULL CHECK (measure IN ('killed', 'injured', 'killed_or_injured')),
    count_min     bigint NOT NULL CHECK (count_min >= 0),
    count_max     bigint CHECK (count_max >= count_min),
    qualifier     text NOT NULL CHECK (qualifier IN ('exact', 'at_least', 'more_than', 'approximately', 'at_most')),
    definition    text NOT NULL,
    period_from   date NOT NULL,
    period_to     date NOT NULL,
    countries     text[] NOT NULL CHECK (cardinality(countries) > 0),
    admin1        text,
    locality      text,
    attributed_to text NOT NULL,
    published_on  date NOT NULL,
    citation      text,
    notes         text,
    -- clock_timestamp(), not now(): the time of the insert, after the row locks that order writers,
    -- rather than the start of the transaction, so that recorded_at follows the order of effect.
    recorded_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (period_from <= period_to)
);
CREATE INDEX statements_chain_idx ON statements (chain_key, published_on, recorded_at, id);
CREATE INDEX statements_period_idx ON statements (period_from, period_to);
CREATE INDEX statements_source_idx ON statements (source_id, id);
CREATE TRIGGER statements_append_only BEFORE UPDATE OR DELETE ON statements
    FOR EACH ROW EXECUTE FUNCTION civcas_forbid_change();

-- Idempotency: a write's request id, a fingerprint of its payload, and its result, stored in the
-- write's own transaction.
CREATE TABLE idempotency_keys (
    request_id  text PRIMARY KEY,
    fingerprint text NOT NULL,
    response    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
