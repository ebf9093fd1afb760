//! Admission: at most `max_concurrent_calls` run at once and `max_queued_calls` more wait their
//! turn. A call that finds both full is shed at once with RESOURCE_EXHAUSTED: a client can retry
//! elsewhere sooner than it could wait here. Health and reflection are never shed.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::{BoxFuture, FutureExt};
use http::{Request, Response};
use tokio::sync::Semaphore;
use tonic::body::Body;
use tower::{Layer, Service};

use crate::errors;
use crate::methods::Method;

/// How many calls run at once, and how many more may wait for their turn.
#[derive(Debug, Clone, Copy)]
pub struct Concurrency {
    pub max_concurrent_calls: usize,
    pub max_queued_calls: usize,
}

/// The admission limits, shared by every connection.
#[derive(Debug, Clone)]
pub struct AdmissionLayer {
    /// Calls admitted: running or waiting to run.
    admitted: Arc<Semaphore>,
    /// Calls running.
    running: Arc<Semaphore>,
    concurrency: Concurrency,
}

impl AdmissionLayer {
    pub fn new(concurrency: Concurrency) -> Self {
        Self {
            admitted: Arc::new(Semaphore::new(
                concurrency.max_concurrent_calls + concurrency.max_queued_calls,
            )),
            running: Arc::new(Semaphore::new(concurrency.max_concurrent_calls)),
            concurrency,
        }
    }

    /// Calls admitted now, running or waiting.
    pub fn calls_admitted(&self) -> usize {
        let Concurrency {
            max_concurrent_calls,
            max_queued_calls,
        } = self.concurrency;
        max_concurrent_calls + max_queued_calls - self.admitted.available_permits()
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Admission<S> {
        Admission {
            inner,
            limits: self.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Admission<S> {
    inner: S,
    limits: AdmissionLayer,
}

impl<S> Service<Request<Body>> for Admission<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if Method::of(&request).is_infrastructure() {
            return self.inner.call(request).boxed();
        }
        let Ok(admitted) = Arc::clone(&self.limits.admitted).try_acquire_owned() else {
            let shed = errors::overloaded(self.limits.concurrency).into_http();
            return std::future::ready(Ok(shed)).boxed();
        };
        let running = Arc::clone(&self.limits.running);
        let work = self.inner.call(request);
        async move {
            let _admitted = admitted;
            // The semaphore is never closed. The wait counts against the call's deadline, which
            // the deadline layer outside this one enforces.
            let _running = running.acquire_owned().await;
            work.await
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tonic::{Code, Status};

    use super::*;
    use crate::middleware::tests::{LIST, code, request};

    #[tokio::test]
    async fn calls_beyond_the_limit_and_queue_are_shed_at_once_and_health_is_never_shed() {
        let (release, released) = tokio::sync::watch::channel(false);
        let handler = tower::service_fn(move |_: Request<Body>| {
            let mut released = released.clone();
            async move {
                let _ = released.wait_for(|r| *r).await;
                Ok::<_, std::convert::Infallible>(Status::ok("").into_http())
            }
        });
        // Two run, one waits, the fourth is shed.
        let limits = AdmissionLayer::new(Concurrency {
            max_concurrent_calls: 2,
            max_queued_calls: 1,
        });
        let admission = limits.layer(handler);
        let held: Vec<_> = (0..3)
            .map(|_| tokio::spawn(admission.clone().call(request(LIST))))
            .collect();
        tokio::task::yield_now().await;
        assert_eq!(limits.calls_admitted(), 3);
        let started = std::time::Instant::now();
        let shed = admission.clone().call(request(LIST)).await.unwrap();
        assert_eq!(code(&shed), Code::ResourceExhausted);
        assert!(started.elapsed() < Duration::from_millis(100));
        let health = tokio::spawn(
            admission
                .clone()
                .call(request("/grpc.health.v1.Health/Check")),
        );
        release.send(true).unwrap();
        assert_eq!(code(&health.await.unwrap().unwrap()), Code::Ok);
        for call in held {
            assert_eq!(code(&call.await.unwrap().unwrap()), Code::Ok);
        }
        assert_eq!(limits.calls_admitted(), 0);
    }
}
