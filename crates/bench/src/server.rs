//! A civcas-server process on its own database.

use super::*;

/// A civcas-server process on its own database.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    /// How long each load of the read model (every fact into memory) took, as the server logs them.
    pub(crate) loads: tokio::sync::mpsc::UnboundedReceiver<Duration>,
}

impl Server {
    pub(crate) fn start(
        binary: &Path,
        database_url: &SecretString,
        workdir: &Path,
        log: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let mut child = Command::new(binary)
            .current_dir(workdir)
            .env("CIVCAS_CONFIG_DIR", workdir.join("no-config"))
            .env("DATABASE_URL", database_url.expose_secret())
            .env("CIVCAS__SERVER__PORT", "0")
            .env("CIVCAS__AUTH__MODE", "disabled")
            .env("CIVCAS__METRICS__PORT", "0")
            .env("CIVCAS__LOG__FORMAT", "json")
            .env(
                "CIVCAS__LOG__FILTER",
                "warn,civcas_server=info,civcas_persistence=info",
            )
            // Enough to import and to answer 64 writers at once without queueing in the pool.
            .env("CIVCAS__DATABASE__POOL_MAX_SIZE", "32")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting civcas-server")?;
        let stdout = child.stdout.take().context("piped stdout")?;
        let mut log = log
            .map(std::fs::File::create)
            .transpose()
            .context("creating the server's log")?;
        let (sender, receiver) = std::sync::mpsc::channel();
        let (loads_sender, loads) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(log) = &mut log {
                    let _ = writeln!(log, "{line}");
                }
                let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if event["message"] == "read model loaded"
                    && let Some(took_ms) = event["took_ms"].as_u64()
                {
                    let _ = loads_sender.send(Duration::from_millis(took_ms));
                }
                if event["message"] == "civcas serving"
                    && let Some(addr) = event["addr"].as_str().and_then(|a| a.parse().ok())
                {
                    let _ = sender.send(addr);
                }
            }
        });
        let addr = receiver
            .recv_timeout(Duration::from_secs(60))
            .context("civcas-server did not start within 60 s")?;
        Ok(Self { child, addr, loads })
    }

    /// The process's peak resident memory so far, in MiB.
    pub(crate) fn peak_mib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|status| {
                status.lines().find_map(|l| {
                    l.strip_prefix("VmHWM:")?
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
            })
            .map_or(0, |kib| kib / 1024)
    }

    /// SIGTERM, so that the server stops gracefully, then waits for it.
    pub(crate) fn stop(self) {
        drop(self);
    }
}

impl Drop for Server {
    /// Also when the run fails half-way: no server outlives the benchmark.
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let _ = self.child.wait();
    }
}
