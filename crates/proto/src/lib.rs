//! The generated code of the `civcas.v1` gRPC contract, shared by the server, the CLI and the tests.
//!
//! The `.proto` files in `proto/civcas/v1/` are the source of truth; this crate only compiles them.

/// The `civcas.v1` package: messages, service clients and service servers.
pub mod v1 {
    #![allow(
        missing_docs,
        missing_debug_implementations,
        unused_qualifications,
        clippy::all,
        clippy::pedantic,
        reason = "generated code"
    )]
    tonic::include_proto!("civcas.v1");
    include!(concat!(env!("OUT_DIR"), "/civcas.v1.serde.rs"));
}

/// `From` and `TryFrom` between the messages and the domain's values.
#[cfg(feature = "domain")]
pub mod domain;

/// The well-known types (`Timestamp`, `FieldMask`) the messages use, with proto3 JSON
/// serialisation.
pub use pbjson_types as well_known;

/// The encoded `FileDescriptorSet` of `civcas.v1`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/civcas_descriptor.bin"));

/// The error domain named in every `google.rpc.ErrorInfo` civcas returns.
pub const ERROR_DOMAIN: &str = "civcas.v1";

#[cfg(test)]
mod tests {
    use super::v1;

    #[test]
    fn messages_serialise_as_proto3_json() {
        let range = v1::CountRange {
            min: 624,
            max: None,
        };
        let statement = v1::Statement {
            measure: v1::Measure::Killed.into(),
            count: Some(range),
            recorded_at: Some(super::well_known::Timestamp {
                seconds: 1_501_804_800,
                nanos: 0,
            }),
            ..Default::default()
        };
        let json = serde_json::to_value(&statement).unwrap();
        assert_eq!(json["measure"], "MEASURE_KILLED");
        assert_eq!(json["count"]["min"], 624);
        assert_eq!(json["recordedAt"], "2017-08-04T00:00:00+00:00");
        let back: v1::Statement = serde_json::from_value(json).unwrap();
        assert_eq!(back, statement);
    }
}
