//! What the store knows about the call it works for: when the caller stops waiting, and whether it
//! already has.
//!
//! The server runs each call's handler inside [`Call::run`]. The store then waits for a pooled
//! connection no longer than the call's deadline allows, and when the call is abandoned mid-query (its
//! deadline passed, or its client went away) the query is cancelled in PostgreSQL rather than left
//! running for nobody. Work outside any call (the change feed, a streaming response) has no deadline.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::time::Instant;

tokio::task_local! {
    static CURRENT: Call;
}

/// One call's deadline and abandonment flag. Clones share the flag.
#[derive(Debug, Clone)]
pub struct Call {
    deadline: Option<Instant>,
    abandoned: Arc<AtomicBool>,
}

impl Call {
    pub fn new(deadline: Option<Instant>) -> Self {
        Self {
            deadline,
            abandoned: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Marks the call as given up. Set it before the call's future is dropped: connections dropped
    /// afterwards cancel their query instead of returning to the pool.
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::Release);
    }

    pub fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }

    /// Runs `work` as this call: the store's work inside it sees the deadline.
    pub async fn run<F: Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }

    /// The call the current task works for, if any.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(Self::clone).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_call_is_visible_inside_run_only() {
        assert!(Call::current().is_none());
        let call = Call::new(Some(Instant::now()));
        let seen = call
            .clone()
            .run(async { Call::current().and_then(|c| c.deadline()) })
            .await;
        assert_eq!(seen, call.deadline());
        assert!(Call::current().is_none());
    }

    #[test]
    fn clones_share_abandonment() {
        let call = Call::new(None);
        let clone = call.clone();
        assert!(!clone.is_abandoned());
        call.abandon();
        assert!(clone.is_abandoned());
    }
}
