//! A private PostgreSQL cluster managed by civcas: the zero-set-up default, and the tests' throwaway
//! databases.
//!
//! - The binaries are found in this order: the configured folder, `PATH`, `pg_config --bindir`, then
//!   the newest `/usr/lib/postgresql/*/bin` (Debian keeps them off `PATH`).
//! - The cluster is created with `initdb -E UTF8 --locale=C.UTF-8` (the data holds Arabic text) the
//!   first time, and reused afterwards, so data survives restarts.
//! - `postgres` runs as a child process that listens on a unix socket only, in a private folder of its
//!   own, so that clusters never collide. It is asked to stop when the cluster is dropped, and is sent
//!   SIGINT by the kernel if civcas dies first (`setpriv --pdeathsig`).
//! - PostgreSQL refuses to run as root. Under root, `initdb` and `postgres` run as the `postgres`
//!   user (or `nobody`), which must be able to reach the data folder.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, Uid, User};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tokio::process::{Child, Command};

/// The database role that owns everything in a managed cluster.
const SUPERUSER: &str = "civcas";
/// Every cluster has a socket folder of its own, so the port never needs to differ.
const PORT: u16 = 5432;
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The bounds of a managed cluster's shared buffers, in MiB. PostgreSQL's default (128 MB) holds a
/// small part of a large dataset: at a million incidents the tables and indexes take 2.2 GB, and
/// every refresh read its pages through the kernel, writing dirty ones back to make room
/// (docs/BENCHMARKS.md, finding 15). A managed cluster takes a quarter of the memory it may use, as
/// PostgreSQL's documentation suggests for a server of its own, within these bounds. The buffers'
/// pages are only taken as data fills them.
const SHARED_BUFFERS_MIB: std::ops::RangeInclusive<u64> = 128..=8192;

/// Why a managed cluster could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found (looked in the configured folder, PATH, `pg_config --bindir` and /usr/lib/postgresql/*/bin); install them (Debian: apt-get install postgresql) or configure a database URL"
    )]
    BinariesNotFound,
    #[error("{0}")]
    Setup(String),
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ClusterError + '_ {
    move |source| ClusterError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Where a managed cluster lives and which binaries run it.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// The folder that holds the cluster (in `postgres/`) and its log (`postgres.log`).
    pub data_dir: PathBuf,
    /// The folder of `initdb` and `postgres`; found automatically when unset.
    pub bin_dir: Option<PathBuf>,
}

/// The unprivileged account PostgreSQL runs as when civcas runs as root.
#[derive(Debug, Clone)]
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

impl RunAs {
    fn for_current_user() -> Result<Option<Self>, ClusterError> {
        if !Uid::effective().is_root() {
            return Ok(None);
        }
        for name in ["postgres", "nobody"] {
            if let Ok(Some(user)) = User::from_name(name) {
                return Ok(Some(Self {
                    name: name.to_owned(),
                    uid: user.uid.as_raw(),
                    gid: user.gid.as_raw(),
                }));
            }
        }
        Err(ClusterError::Setup(
            "running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as"
                .to_owned(),
        ))
    }

    fn chown(&self, path: &Path) -> Result<(), ClusterError> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).map_err(io_error(path))
    }
}

/// The shared buffers, in MiB, that a managed cluster takes when it may use `memory` bytes (the
/// least when that is unknown).
pub fn shared_buffers_mib(memory: Option<u64>) -> u64 {
    let quarter = memory.map_or(0, |bytes| bytes / 4 / (1024 * 1024));
    quarter.clamp(*SHARED_BUFFERS_MIB.start(), *SHARED_BUFFERS_MIB.end())
}

/// The memory this process may use, in bytes: the machine's, or its control group's limit when that
/// is less, as in a container.
pub fn usable_memory() -> Option<u64> {
    let machine = nix::sys::sysinfo::sysinfo()
        .ok()
        .map(|info| info.ram_total());
    let limit = fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|max| max.trim().parse::<u64>().ok());
    match (machine, limit) {
        (Some(machine), Some(limit)) => Some(machine.min(limit)),
        (machine, limit) => machine.or(limit),
    }
}

/// Builds a command that runs `program` as `run_as` when set, and dies with this process.
fn command(run_as: Option<&RunAs>, program: &Path) -> Command {
    let mut cmd = Command::new("setpriv");
    if let Some(user) = run_as {
        cmd.arg(format!("--reuid={}", user.uid))
            .arg(format!("--regid={}", user.gid))
            .arg("--clear-groups");
    }
    cmd.arg("--pdeathsig=INT").arg("--").arg(program);
    cmd
}

/// Finds the folder holding `initdb` and `postgres`.
pub fn find_bin_dir(configured: Option<&Path>) -> Result<PathBuf, ClusterError> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = configured {
        return if has_server(dir) {
            Ok(dir.to_owned())
        } else {
            Err(ClusterError::Setup(format!(
                "the configured PostgreSQL bin folder {} has no initdb and postgres",
                dir.display()
            )))
        };
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        // `PATH` often holds symlinks to the real folder, where the other binaries sit too.
        .filter_map(|dir| fs::canonicalize(dir.join("initdb")).ok())
        .filter_map(|initdb| initdb.parent().map(Path::to_owned));
    let from_pg_config = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                    Some((version, e.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    debian.sort();
    on_path
        .chain(from_pg_config)
        .chain(debian.into_iter().rev().map(|(_, dir)| dir))
        .find(|dir| has_server(dir))
        .ok_or(ClusterError::BinariesNotFound)
}

/// A running PostgreSQL cluster that civcas started and will stop.
#[derive(Debug)]
pub struct LocalCluster {
    postgres: Option<Child>,
    bin_dir: PathBuf,
    run_as: Option<RunAs>,
    socket_dir: tempfile::TempDir,
    data_dir: PathBuf,
    /// The cluster itself: `data_dir/postgres`, unless that is unreachable (see [`reachable_pgdata`]).
    pgdata: PathBuf,
    /// Holds a temporary cluster's data folder; removed after the server stops.
    _temporary: Option<tempfile::TempDir>,
}

impl LocalCluster {
    /// Starts the cluster in `settings.data_dir`, creating it the first time.
    pub async fn start(settings: &ClusterSettings) -> Result<Self, ClusterError> {
        Self::start_in(settings, None).await
    }

    /// Starts a fresh cluster in a temporary folder, removed when the cluster is dropped. For tests.
    pub async fn start_temporary() -> Result<Self, ClusterError> {
        let dir = tempfile::Builder::new()
            .prefix("civcas-test-pg-")
            .tempdir()
            .map_err(io_error(Path::new("temporary folder")))?;
        let settings = ClusterSettings {
            data_dir: dir.path().to_owned(),
            bin_dir: None,
        };
        Self::start_in(&settings, Some(dir)).await
    }

    async fn start_in(
        settings: &ClusterSettings,
        temporary: Option<tempfile::TempDir>,
    ) -> Result<Self, ClusterError> {
        let bin_dir = find_bin_dir(settings.bin_dir.as_deref())?;
        let run_as = RunAs::for_current_user()?;
        let created = !settings.data_dir.exists();
        fs::create_dir_all(&settings.data_dir).map_err(io_error(&settings.data_dir))?;
        let data_dir =
            fs::canonicalize(&settings.data_dir).map_err(io_error(&settings.data_dir))?;
        let mut pgdata = data_dir.join("postgres");
        if let Some(user) = &run_as {
            // A folder civcas made (or a temporary one, private to its creator) must be enterable.
            if created || temporary.is_some() {
                fs::set_permissions(&data_dir, fs::Permissions::from_mode(0o755))
                    .map_err(io_error(&data_dir))?;
            }
            pgdata = reachable_pgdata(user, &data_dir).await?;
        }
        if !pgdata.join("PG_VERSION").is_file() {
            init_cluster(&bin_dir, run_as.as_ref(), &pgdata).await?;
        }

        // A short path in /tmp: a unix socket path may not exceed 107 bytes.
        let socket_dir = tempfile::Builder::new()
            .prefix("civcas-pg-")
            .tempdir()
            .map_err(io_error(Path::new("socket folder")))?;
        if let Some(user) = &run_as {
            user.chown(socket_dir.path())?;
        }
        let mut cluster = Self {
            postgres: None,
            bin_dir,
            run_as,
            socket_dir,
            data_dir,
            pgdata,
            _temporary: temporary,
        };
        cluster.spawn_postgres()?;
        cluster.wait_until_ready().await?;
        tracing::info!(
            data_dir = %cluster.data_dir.display(),
            socket_dir = %cluster.socket_dir.path().display(),
            "managed PostgreSQL is ready"
        );
        Ok(cluster)
    }

    fn log_path(&self) -> PathBuf {
        self.data_dir.join("postgres.log")
    }

    /// Starts the postmaster as a child, logging to `postgres.log` in the data folder.
    fn spawn_postgres(&mut self) -> Result<(), ClusterError> {
        let log_path = self.log_path();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io_error(&log_path))?;
        let stderr = log.try_clone().map_err(io_error(&log_path))?;
        let postgres = command(self.run_as.as_ref(), &self.bin_dir.join("postgres"))
            .arg("-D")
            .arg(&self.pgdata)
            .arg("-k")
            .arg(self.socket_dir.path())
            .args(["-p", &PORT.to_string(), "-c", "listen_addresses="])
            .args([
                "-c",
                "unix_socket_permissions=0700",
                "-c",
                "max_connections=200",
            ])
            .arg("-c")
            .arg(format!(
                "shared_buffers={}MB",
                shared_buffers_mib(usable_memory())
            ))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .kill_on_drop(false)
            .spawn()
            .map_err(|e| ClusterError::Command {
                what: "starting postgres".to_owned(),
                detail: e.to_string(),
            })?;
        self.postgres = Some(postgres);
        Ok(())
    }

    /// Stops the server the way `pg_ctl stop -m immediate` does (SIGQUIT: no checkpoint, sessions cut
    /// off, crash recovery at the next start) and waits for it. For fault-injection tests.
    pub async fn crash(&mut self) -> Result<(), ClusterError> {
        let Some(mut child) = self.postgres.take() else {
            return Ok(());
        };
        signal(&child, Signal::SIGQUIT);
        child.wait().await.map_err(|e| ClusterError::Command {
            what: "waiting for postgres".to_owned(),
            detail: e.to_string(),
        })?;
        Ok(())
    }

    /// Starts the server again on the same data and socket, after [`LocalCluster::crash`].
    pub async fn restart(&mut self) -> Result<(), ClusterError> {
        if self.postgres.is_none() {
            self.spawn_postgres()?;
        }
        self.wait_until_ready().await
    }

    async fn wait_until_ready(&mut self) -> Result<(), ClusterError> {
        let log_path = self.log_path();
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = self.url("postgres");
        loop {
            if let Some(child) = self.postgres.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.postgres = None;
                return Err(ClusterError::Command {
                    what: "postgres".to_owned(),
                    detail: format!("exited with {status}; see {}", log_path.display()),
                });
            }
            if AsyncPgConnection::establish(url.expose_secret())
                .await
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(ClusterError::Setup(format!(
                    "postgres did not accept connections within {READY_TIMEOUT:?}; see {}",
                    log_path.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A connection string for `database` on this cluster.
    pub fn url(&self, database: &str) -> SecretString {
        SecretString::from(format!(
            "host='{}' port={PORT} user={SUPERUSER} dbname='{database}'",
            self.socket_dir.path().display()
        ))
    }

    /// The data folder the cluster was started for.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The cluster's own folder (PGDATA).
    pub fn pgdata(&self) -> &Path {
        &self.pgdata
    }

    /// The postmaster's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.postgres.as_ref().and_then(Child::id)
    }

    /// Creates `database` unless it exists. `database` must be a plain identifier.
    pub async fn ensure_database(&self, database: &str) -> Result<(), ClusterError> {
        if database.is_empty()
            || !database
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(ClusterError::Setup(format!(
                "database name {database:?} must be lower-case letters, digits and underscores"
            )));
        }
        let mut conn = AsyncPgConnection::establish(self.url("postgres").expose_secret())
            .await
            .map_err(|e| ClusterError::Setup(format!("cannot connect to the cluster: {e}")))?;
        let created = conn
            .batch_execute(&format!("CREATE DATABASE {database}"))
            .await;
        match created {
            Ok(()) => Ok(()),
            Err(e) if e.to_string().contains("already exists") => Ok(()),
            Err(e) => Err(ClusterError::Command {
                what: format!("CREATE DATABASE {database}"),
                detail: e.to_string(),
            }),
        }
    }

    /// Stops the server with a fast shutdown (open sessions are ended, data is flushed) and waits.
    pub async fn stop(mut self) -> Result<(), ClusterError> {
        let Some(mut child) = self.postgres.take() else {
            return Ok(());
        };
        signal(&child, Signal::SIGINT);
        match tokio::time::timeout(STOP_TIMEOUT, child.wait()).await {
            Ok(_) => Ok(()),
            Err(_) => {
                signal(&child, Signal::SIGKILL);
                let _ = child.wait().await;
                Err(ClusterError::Setup(format!(
                    "postgres did not stop within {STOP_TIMEOUT:?} and was killed"
                )))
            }
        }
    }
}

fn signal(child: &Child, signal: Signal) {
    if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
        // setpriv execs postgres in place, so this is the postmaster itself.
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

/// How long dropping a running cluster waits for PostgreSQL: it blocks its thread, so it is short;
/// [`LocalCluster::stop`] is the way to wait without blocking.
const DROP_TIMEOUT: Duration = Duration::from_secs(5);

impl Drop for LocalCluster {
    fn drop(&mut self) {
        let Some(mut child) = self.postgres.take() else {
            return;
        };
        signal(&child, Signal::SIGINT);
        let deadline = Instant::now() + DROP_TIMEOUT;
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal(&child, Signal::SIGKILL);
    }
}

async fn run(mut cmd: Command, what: &str) -> Result<(), ClusterError> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| ClusterError::Command {
            what: what.to_owned(),
            detail: e.to_string(),
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ClusterError::Command {
            what: what.to_owned(),
            detail: format!(
                "{}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        })
    }
}

async fn init_cluster(
    bin_dir: &Path,
    run_as: Option<&RunAs>,
    pgdata: &Path,
) -> Result<(), ClusterError> {
    tracing::info!(pgdata = %pgdata.display(), "creating a PostgreSQL cluster");
    let mut initdb = command(run_as, &bin_dir.join("initdb"));
    initdb
        .arg("-D")
        .arg(pgdata)
        .args(["-E", "UTF8", "--locale=C.UTF-8", "-U", SUPERUSER])
        // Only the socket in a private folder reaches this cluster, so trust is safe there.
        .args(["--auth=trust", "--no-instructions"]);
    run(initdb, "initdb").await
}

/// Where clusters live whose data folder the PostgreSQL user cannot reach.
const REACHABLE_ROOT: &str = "/var/lib/civcas/clusters";

/// The note left in a data folder whose cluster lives elsewhere.
const LOCATION_NOTE: &str = "CLUSTER_LOCATION";

/// The cluster's folder for `data_dir`, owned by the PostgreSQL user and reachable by it.
///
/// Normally `data_dir/postgres`. When a parent folder is private to root (a data folder under
/// `/root`, mode 0700), the user cannot enter it; rather than loosen a home folder's permissions, the
/// cluster then lives in a folder named after a hash of `data_dir`'s path under
/// [`REACHABLE_ROOT`]. The same data folder always maps to the same place, so data survives restarts,
/// and a note in the data folder says where it is.
async fn reachable_pgdata(user: &RunAs, data_dir: &Path) -> Result<PathBuf, ClusterError> {
    let local = data_dir.join("postgres");
    fs::create_dir_all(&local).map_err(io_error(&local))?;
    user.chown(&local)?;
    if can_write(user, &local).await {
        return Ok(local);
    }
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    let elsewhere = Path::new(REACHABLE_ROOT)
        .join(hex::encode(&digest[..8]))
        .join("postgres");
    let parents: Vec<&Path> = elsewhere.ancestors().skip(1).take(3).collect();
    for dir in parents.into_iter().rev() {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(io_error(dir))?;
    }
    fs::create_dir_all(&elsewhere).map_err(io_error(&elsewhere))?;
    user.chown(&elsewhere)?;
    if !can_write(user, &elsewhere).await {
        return Err(ClusterError::Setup(format!(
            "PostgreSQL runs as the unprivileged user `{}` (civcas runs as root), and that user can \
             reach neither {} nor {}. Choose another data folder (CIVCAS__DATABASE__DATA_DIR), or \
             configure a database URL",
            user.name,
            local.display(),
            elsewhere.display()
        )));
    }
    let note = data_dir.join(LOCATION_NOTE);
    fs::write(
        &note,
        format!(
            "The PostgreSQL cluster of this data folder lives in {}: the user `{}` that runs it \
             cannot enter this folder.\n",
            elsewhere.display(),
            user.name
        ),
    )
    .map_err(io_error(&note))?;
    tracing::warn!(
        data_dir = %data_dir.display(),
        cluster = %elsewhere.display(),
        user = %user.name,
        "the data folder is not reachable by the PostgreSQL user; the cluster lives elsewhere"
    );
    Ok(elsewhere)
}

/// Whether `user` can write in `dir`.
async fn can_write(user: &RunAs, dir: &Path) -> bool {
    let mut test = command(Some(user), Path::new("/usr/bin/test"));
    test.arg("-w").arg(dir);
    run(test, "access check").await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn shared_buffers_take_a_quarter_of_the_memory_within_bounds() {
        assert_eq!(shared_buffers_mib(Some(24 * 1024 * MIB)), 6 * 1024);
        assert_eq!(shared_buffers_mib(Some(256 * MIB)), 128);
        assert_eq!(shared_buffers_mib(Some(256 * 1024 * MIB)), 8192);
        assert_eq!(shared_buffers_mib(None), 128);
    }
}
