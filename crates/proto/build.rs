//! Compiles `proto/civcas/v1` with protox (no protoc on the machine) and writes the descriptor set that
//! server reflection serves.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let package_dir = proto_root.join("civcas/v1");
    // protox reports no inputs to cargo, so say them ourselves.
    println!("cargo:rerun-if-changed={}", package_dir.display());

    let mut files: Vec<PathBuf> = std::fs::read_dir(&package_dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|path| path.extension().is_some_and(|ext| ext == "proto"));
    files.sort();

    let descriptors = protox::compile(&files, [&proto_root])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("civcas_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    let encoded = descriptors.encode_to_vec();
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // pbjson's well-known types serialise as proto3 JSON (RFC 3339 timestamps, masks as strings).
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_fds(descriptors)?;
    // Proto3 JSON for every message: enum names, RFC 3339 timestamps, 64-bit integers as strings,
    // as grpcurl and buf curl print them.
    pbjson_build::Builder::new()
        .register_descriptors(&encoded)?
        .build(&[".civcas.v1"])?;
    Ok(())
}
