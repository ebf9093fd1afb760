//! The managed cluster against real PostgreSQL binaries: created once, reused, and durable.

use civcas_domain::repository::SourceRepository;
use civcas_domain::{NewSource, SourceDetails, SourceId, SourceKind, WriteOutcome};
use civcas_persistence::embedded::{
    ClusterSettings, LocalCluster, shared_buffers_mib, usable_memory,
};
use civcas_persistence::{PgStore, PoolSettings};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::ExposeSecret;

fn airwars() -> NewSource {
    NewSource {
        id: SourceId::parse("airwars").unwrap(),
        details: SourceDetails {
            display_name: "Airwars".into(),
            kind: SourceKind::Monitor,
            belligerent: None,
            homepage: None,
            methodology: None,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_cluster_keeps_its_data_across_restarts() {
    let dir = tempfile::Builder::new()
        .prefix("civcas-cluster-")
        .tempdir()
        .unwrap();
    // The cluster's user must be able to enter the folder when the tests run as root.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let settings = ClusterSettings {
        data_dir: dir.path().join("data"),
        bin_dir: None,
    };

    let cluster = LocalCluster::start(&settings).await.unwrap();
    cluster.ensure_database("civcas").await.unwrap();
    let url = cluster.url("civcas");
    PgStore::migrate(&url).await.unwrap();
    let store = PgStore::new(&url, &PoolSettings::default()).unwrap();
    store.ping().await.unwrap();
    let first = store.register_source(airwars(), None).await.unwrap();
    assert_eq!(first.outcome, WriteOutcome::Created);
    let pid = cluster.pid().expect("postgres runs");
    drop(store);
    cluster.stop().await.unwrap();
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "postgres {pid} still runs after stop"
    );

    let cluster = LocalCluster::start(&settings).await.unwrap();
    cluster.ensure_database("civcas").await.unwrap();
    let url = cluster.url("civcas");
    PgStore::migrate(&url).await.unwrap();
    let store = PgStore::new(&url, &PoolSettings::default()).unwrap();
    let stored = store
        .get_source(&SourceId::parse("airwars").unwrap())
        .await
        .unwrap();
    assert_eq!(stored.details.display_name, "Airwars");
    let again = store.register_source(airwars(), None).await.unwrap();
    assert_eq!(again.outcome, WriteOutcome::Unchanged);
    drop(store);
    cluster.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_cluster_takes_a_quarter_of_the_memory_for_its_buffers() {
    #[derive(QueryableByName)]
    struct SharedBuffers {
        #[diesel(sql_type = BigInt)]
        mib: i64,
    }
    let cluster = LocalCluster::start_temporary().await.unwrap();
    cluster.ensure_database("buffers").await.unwrap();
    let mut conn = AsyncPgConnection::establish(cluster.url("buffers").expose_secret())
        .await
        .unwrap();
    let shared: SharedBuffers = diesel::sql_query(
        "SELECT pg_size_bytes(current_setting('shared_buffers')) / 1048576 AS mib",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    let expected = shared_buffers_mib(usable_memory());
    assert_eq!(u64::try_from(shared.mib).unwrap(), expected);
    drop(conn);
    cluster.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_up_down_and_up_again() {
    let cluster = LocalCluster::start_temporary().await.unwrap();
    cluster.ensure_database("updown").await.unwrap();
    let url = cluster.url("updown");
    PgStore::migrate(&url).await.unwrap();
    let reverted = PgStore::revert_all_migrations(&url).await.unwrap();
    assert!(reverted >= 1, "every migration has a down.sql");
    PgStore::migrate(&url).await.unwrap();
    let store = PgStore::new(&url, &PoolSettings::default()).unwrap();
    let created = store.register_source(airwars(), None).await.unwrap();
    assert_eq!(created.outcome, WriteOutcome::Created);
    drop(store);
    cluster.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_folder_the_postgres_user_cannot_reach_keeps_its_cluster_elsewhere() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: only root hands PostgreSQL to another user");
        return;
    }
    // Like a data folder under /root: its parent is private to root.
    let private = tempfile::Builder::new()
        .prefix("civcas-private-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(
        private.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let settings = ClusterSettings {
        data_dir: private.path().join("data"),
        bin_dir: None,
    };
    let cluster = LocalCluster::start(&settings).await.unwrap();
    let pgdata = cluster.pgdata().to_owned();
    assert!(
        pgdata.starts_with("/var/lib/civcas/clusters"),
        "{}",
        pgdata.display()
    );
    assert!(settings.data_dir.join("CLUSTER_LOCATION").is_file());
    cluster.ensure_database("civcas").await.unwrap();
    let url = cluster.url("civcas");
    PgStore::migrate(&url).await.unwrap();
    let store = PgStore::new(&url, &PoolSettings::default()).unwrap();
    store.register_source(airwars(), None).await.unwrap();
    drop(store);
    cluster.stop().await.unwrap();

    // The same data folder finds the same cluster again.
    let cluster = LocalCluster::start(&settings).await.unwrap();
    assert_eq!(cluster.pgdata(), pgdata);
    let url = cluster.url("civcas");
    let store = PgStore::new(&url, &PoolSettings::default()).unwrap();
    let again = store.register_source(airwars(), None).await.unwrap();
    assert_eq!(again.outcome, WriteOutcome::Unchanged);
    drop(store);
    cluster.stop().await.unwrap();
    std::fs::remove_dir_all(pgdata.parent().unwrap()).unwrap();
}
