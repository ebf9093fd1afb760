//! The diesel schema, kept in step with `migrations/` by hand; the end-to-end tests exercise every
//! column through the API.

diesel::table! {
    assessments (id) {
        id -> Int8,
        source_id -> Text,
        incident_id -> Int8,
        verdict -> Text,
        source_label -> Text,
        killed_min -> Nullable<Int8>,
        killed_max -> Nullable<Int8>,
        injured_min -> Nullable<Int8>,
        injured_max -> Nullable<Int8>,
        assessed_on -> Date,
        duplicate_of -> Nullable<Int8>,
        citation -> Nullable<Text>,
        notes -> Nullable<Text>,
        recorded_at -> Timestamptz,
        children_killed_min -> Nullable<Int8>,
        children_killed_max -> Nullable<Int8>,
        women_killed_min -> Nullable<Int8>,
        women_killed_max -> Nullable<Int8>,
        men_killed_min -> Nullable<Int8>,
        men_killed_max -> Nullable<Int8>,
    }
}

diesel::table! {
    idempotency_keys (request_id) {
        request_id -> Text,
        fingerprint -> Text,
        response -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    incident_links (low_incident_id, high_incident_id) {
        low_incident_id -> Int8,
        high_incident_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    incident_references (source_id, external_ref) {
        source_id -> Text,
        external_ref -> Text,
        incident_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    incidents (id) {
        id -> Int8,
        occurred_from -> Date,
        occurred_to -> Date,
        country -> Text,
        admin1 -> Nullable<Text>,
        locality -> Nullable<Text>,
        latitude -> Nullable<Float8>,
        longitude -> Nullable<Float8>,
        location_precision -> Text,
        attributed_to -> Array<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        harm -> Array<Text>,
        means -> Array<Text>,
        infrastructure -> Array<Text>,
    }
}

diesel::table! {
    sources (id) {
        id -> Text,
        display_name -> Text,
        kind -> Text,
        belligerent -> Nullable<Text>,
        homepage -> Nullable<Text>,
        methodology -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    statements (id) {
        id -> Int8,
        source_id -> Text,
        chain_key -> Text,
        measure -> Text,
        count_min -> Int8,
        count_max -> Nullable<Int8>,
        qualifier -> Text,
        definition -> Text,
        period_from -> Date,
        period_to -> Date,
        countries -> Array<Text>,
        admin1 -> Nullable<Text>,
        locality -> Nullable<Text>,
        attributed_to -> Text,
        published_on -> Date,
        citation -> Nullable<Text>,
        notes -> Nullable<Text>,
        recorded_at -> Timestamptz,
        tier -> Text,
    }
}

diesel::joinable!(assessments -> sources (source_id));
diesel::joinable!(incident_references -> incidents (incident_id));
diesel::joinable!(incident_references -> sources (source_id));
diesel::joinable!(statements -> sources (source_id));

diesel::allow_tables_to_appear_in_same_query!(
    assessments,
    idempotency_keys,
    incident_links,
    incident_references,
    incidents,
    sources,
    statements,
);
