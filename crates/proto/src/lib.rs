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
}

/// The encoded `FileDescriptorSet` of `civcas.v1`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/civcas_descriptor.bin"));

/// The error domain named in every `google.rpc.ErrorInfo` civcas returns.
pub const ERROR_DOMAIN: &str = "civcas.v1";
