//! Where the shared real data lives, and what to do when it is absent.

use std::path::PathBuf;

/// `../shared/data` beside the workspace (the parent of this crate's folder), when it exists.
/// Absent, the caller skips with a message, unless `CIVCAS_REQUIRE_DATA=1` (set by CI, which has the
/// data), in which case the test fails.
pub fn shared_data(folder: &str) -> Option<PathBuf> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_owned();
    let path = workspace.join("../shared/data").join(folder);
    if path.is_dir() {
        return Some(path);
    }
    let required = std::env::var("CIVCAS_REQUIRE_DATA").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "CIVCAS_REQUIRE_DATA=1 but {} is absent",
        path.display()
    );
    eprintln!("skipped: the real data folder {} is absent", path.display());
    None
}
