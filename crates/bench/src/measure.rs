//! Timing calls: latencies over windows, throughput, percentiles.

use super::*;

pub(crate) async fn connect(addr: SocketAddr) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await?)
}

pub(crate) async fn sql(url: &SecretString) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url.expose_secret(), tokio_postgres::NoTls)
        .await
        .context("connecting to PostgreSQL")?;
    tokio::spawn(connection);
    // As civcas's own sessions run: JIT compilation costs the baseline's queries more than it saves.
    client.batch_execute("SET jit = off").await?;
    Ok(client)
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub(crate) fn p50_p99(sorted: &[Duration]) -> String {
    format!(
        "p50 {}, p99 {}",
        ms(percentile(sorted, 0.5)),
        ms(percentile(sorted, 0.99))
    )
}

pub(crate) async fn connect_many(addr: SocketAddr, count: usize) -> anyhow::Result<Vec<Channel>> {
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count {
        channels.push(connect(addr).await?);
    }
    Ok(channels)
}

/// Runs `calls` calls of `call` over `concurrency` workers, each given its worker and the call's
/// index; returns every latency, sorted.
pub(crate) async fn latencies<F, Fut>(
    concurrency: usize,
    calls: usize,
    call: F,
) -> anyhow::Result<Vec<Duration>>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (next, call) = (Arc::clone(&next), call.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= calls {
                        break;
                    }
                    let started = Instant::now();
                    call(worker, n).await?;
                    seen.push(started.elapsed());
                }
                anyhow::Ok(seen)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(calls);
    for worker in workers {
        all.extend(worker.await??);
    }
    all.sort();
    Ok(all)
}

/// A window as the API and the baseline take it: its first and last day.
pub(crate) type Window = (NaiveDate, NaiveDate);

/// `calls` windows as long as `window`, the first `shift` days after it and each a day after the last.
pub(crate) fn windows_a_day_apart(window: Window, shift: u64, calls: usize) -> Vec<Window> {
    (shift..)
        .take(calls)
        .map(|days| (window.0 + Days::new(days), window.1 + Days::new(days)))
        .collect()
}

/// Asks `ask` for each of `windows` (`ask` gets its worker and the window) from `concurrency`
/// workers; returns the latencies, sorted, and each window's tiers in the windows' order.
pub(crate) async fn ask_windows<F, Fut>(
    concurrency: usize,
    windows: &[Window],
    ask: F,
) -> anyhow::Result<(Vec<Duration>, Vec<Tiers>)>
where
    F: Fn(usize, Window) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<Tiers>> + Send,
{
    let answers = Arc::new(Mutex::new(vec![Tiers::new(); windows.len()]));
    let latencies = latencies(concurrency, windows.len(), {
        let (answers, windows) = (Arc::clone(&answers), Arc::new(windows.to_vec()));
        move |worker, n| {
            let (answers, ask, window) = (Arc::clone(&answers), ask.clone(), windows[n]);
            async move {
                let tiers = ask(worker, window).await?;
                answers.lock().unwrap_or_else(PoisonError::into_inner)[n] = tiers;
                Ok(())
            }
        }
    })
    .await?;
    let answers = std::mem::take(&mut *answers.lock().unwrap_or_else(PoisonError::into_inner));
    Ok((latencies, answers))
}

/// Calls `call` from `concurrency` workers for `duration`; returns calls per second.
pub(crate) async fn throughput<F, Fut>(
    concurrency: usize,
    duration: Duration,
    call: F,
) -> anyhow::Result<f64>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut done = 0;
                while started.elapsed() < duration {
                    call(worker, done).await?;
                    done += 1;
                }
                anyhow::Ok(done)
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}
