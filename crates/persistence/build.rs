//! `embed_migrations!` does not notice new or changed migration files: tell cargo to rebuild.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
