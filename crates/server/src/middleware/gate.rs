//! The gate in front of the API's handlers: load shedding, deadlines and panics.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use civcas_persistence::call::Call;
use futures::FutureExt;
use futures::future::BoxFuture;
use http::{HeaderMap, Request, Response};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tonic::Status;
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

/// What the gate enforces, shared by every connection.
#[derive(Debug)]
pub struct GatePolicy {
    /// Calls admitted: running or waiting to run. A call that finds none free is shed at once.
    admitted: Arc<Semaphore>,
    /// Calls running.
    running: Arc<Semaphore>,
    concurrency: Concurrency,
    request_timeout: Duration,
}

impl GatePolicy {
    pub fn new(concurrency: Concurrency, request_timeout: Duration) -> Self {
        Self {
            admitted: Arc::new(Semaphore::new(
                concurrency.max_concurrent_calls + concurrency.max_queued_calls,
            )),
            running: Arc::new(Semaphore::new(concurrency.max_concurrent_calls)),
            concurrency,
            request_timeout,
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

#[derive(Debug, Clone)]
pub struct GateLayer {
    policy: Arc<GatePolicy>,
}

impl GateLayer {
    pub fn new(policy: Arc<GatePolicy>) -> Self {
        Self { policy }
    }
}

impl<S> Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Gate<S> {
        Gate {
            inner,
            policy: Arc::clone(&self.policy),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Gate<S> {
    inner: S,
    policy: Arc<GatePolicy>,
}

impl<S> Service<Request<Body>> for Gate<S>
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
        let method = Method::from_path(request.uri().path());
        if method.is_infrastructure() {
            return Box::pin(self.inner.call(request));
        }
        let policy = &self.policy;
        let Ok(admitted) = Arc::clone(&policy.admitted).try_acquire_owned() else {
            return answer(errors::overloaded(policy.concurrency));
        };
        let running = Arc::clone(&policy.running);
        let limit = call_timeout(&method, request.headers(), policy.request_timeout)
            .map(|timeout| (Instant::now() + timeout, timeout));
        let work = match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(work) => work,
            Err(panic) => return answer(panicked(&method, &*panic)),
        };
        let call = Call::new(limit.map(|(deadline, _)| deadline));
        Box::pin(async move {
            let _admitted = admitted;
            let work = async {
                // Waiting for a turn counts against the deadline too. The semaphore is never closed.
                let _running = running.acquire_owned().await;
                call.clone()
                    .run(AssertUnwindSafe(work).catch_unwind())
                    .await
            };
            tokio::pin!(work);
            // Dropped before `work` (locals drop in reverse): when this call is dropped half-way
            // because its client went away, its connections see the call abandoned and cancel
            // their queries. After normal completion it changes nothing.
            let _abandon_on_drop = AbandonOnDrop(call.clone());
            let outcome = match limit {
                Some((deadline, timeout)) => tokio::select! {
                    outcome = &mut work => outcome,
                    () = tokio::time::sleep_until(deadline) => {
                        call.abandon();
                        return Ok(errors::deadline_exceeded(timeout).into_http());
                    }
                },
                None => (&mut work).await,
            };
            match outcome {
                Ok(response) => response.map(with_error_info_on_tonic_errors),
                Err(panic) => Ok(panicked(&method, &*panic).into_http()),
            }
        })
    }
}

/// tonic answers some bad requests itself (not protobuf, too large), without the ErrorInfo civcas
/// promises on every error: add it. Such answers are trailers-only, so the headers tell.
fn with_error_info_on_tonic_errors(response: Response<Body>) -> Response<Body> {
    match Status::from_header_map(response.headers()) {
        Some(status) if status.code() != tonic::Code::Ok && status.details().is_empty() => {
            errors::with_error_info(status).into_http()
        }
        _ => response,
    }
}

fn answer<E: Send + 'static>(status: Status) -> BoxFuture<'static, Result<Response<Body>, E>> {
    Box::pin(std::future::ready(Ok(status.into_http())))
}

struct AbandonOnDrop(Call);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.abandon();
    }
}

fn panicked(method: &Method, panic: &(dyn Any + Send)) -> Status {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    tracing::error!(%method, panic = message, "handler panicked; answered INTERNAL");
    errors::panicked()
}

/// How long the call may run: the client's `grpc-timeout`, capped by the server's request timeout,
/// except for request streams, which only the client bounds.
fn call_timeout(method: &Method, headers: &HeaderMap, server: Duration) -> Option<Duration> {
    let client = headers
        .get("grpc-timeout")
        .and_then(|value| value.to_str().ok())
        .and_then(parse_grpc_timeout);
    let server = (!method.streams_requests).then_some(server);
    match (client, server) {
        (Some(client), Some(server)) => Some(client.min(server)),
        (client, server) => client.or(server),
    }
}

/// A `grpc-timeout` value: at most 8 digits and a unit (H, M, S, m, u, n). Anything else is ignored,
/// as the gRPC spec allows, and the server's own timeout applies.
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let digits = value.get(..value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match value.as_bytes()[value.len() - 1] {
        b'H' => Duration::from_secs(amount * 3600),
        b'M' => Duration::from_secs(amount * 60),
        b'S' => Duration::from_secs(amount),
        b'm' => Duration::from_millis(amount),
        b'u' => Duration::from_micros(amount),
        b'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tonic::Code;

    use super::*;

    fn open_policy(
        max_concurrent_calls: usize,
        max_queued_calls: usize,
        request_timeout: Duration,
    ) -> Arc<GatePolicy> {
        Arc::new(GatePolicy::new(
            Concurrency {
                max_concurrent_calls,
                max_queued_calls,
            },
            request_timeout,
        ))
    }

    fn request(path: &str) -> Request<Body> {
        Request::builder()
            .uri(format!("http://localhost{path}"))
            .body(Body::empty())
            .unwrap()
    }

    const LIST: &str = "/civcas.v1.SourceService/ListSources";

    fn code(response: &Response<Body>) -> Code {
        Status::from_header_map(response.headers()).map_or(Code::Ok, |status| status.code())
    }

    #[test]
    fn grpc_timeouts_parse_in_every_unit() {
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("10S"), Some(Duration::from_secs(10)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(
            parse_grpc_timeout("99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in ["", "S", "123456789S", "10s", "-1S", "+1S", "1.5S", "10"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_shorter_of_the_two_timeouts_wins_except_for_imports() {
        let mut headers = HeaderMap::new();
        let server = Duration::from_secs(30);
        let list = Method::from_path(LIST);
        assert_eq!(call_timeout(&list, &headers, server), Some(server));
        headers.insert("grpc-timeout", "500m".parse().unwrap());
        assert_eq!(
            call_timeout(&list, &headers, server),
            Some(Duration::from_millis(500))
        );
        headers.insert("grpc-timeout", "1H".parse().unwrap());
        assert_eq!(call_timeout(&list, &headers, server), Some(server));
        let import = Method::from_path("/civcas.v1.AssessmentService/ImportAssessments");
        assert_eq!(
            call_timeout(&import, &headers, server),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(call_timeout(&import, &HeaderMap::new(), server), None);
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_internal_and_the_next_call_is_served() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let handler = tower::service_fn(move |_: Request<Body>| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                assert!(n > 0, "the first call panics");
                Ok::<_, std::convert::Infallible>(Status::ok("").into_http())
            }
        });
        let mut gate = GateLayer::new(open_policy(4, 0, Duration::from_secs(5))).layer(handler);
        let first = gate.call(request(LIST)).await.unwrap();
        assert_eq!(code(&first), Code::Internal);
        let status = Status::from_header_map(first.headers()).unwrap();
        assert!(!status.message().contains("first call"), "{status:?}");
        let second = gate.call(request(LIST)).await.unwrap();
        assert_eq!(code(&second), Code::Ok);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

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
        let policy = open_policy(2, 1, Duration::from_secs(5));
        let gate = GateLayer::new(Arc::clone(&policy)).layer(handler);
        let held: Vec<_> = (0..3)
            .map(|_| tokio::spawn(gate.clone().call(request(LIST))))
            .collect();
        tokio::task::yield_now().await;
        assert_eq!(policy.calls_admitted(), 3);
        let started = std::time::Instant::now();
        let shed = gate.clone().call(request(LIST)).await.unwrap();
        assert_eq!(code(&shed), Code::ResourceExhausted);
        assert!(started.elapsed() < Duration::from_millis(100));
        let health = tokio::spawn(gate.clone().call(request("/grpc.health.v1.Health/Check")));
        release.send(true).unwrap();
        assert_eq!(code(&health.await.unwrap().unwrap()), Code::Ok);
        for call in held {
            assert_eq!(code(&call.await.unwrap().unwrap()), Code::Ok);
        }
        assert_eq!(policy.calls_admitted(), 0);
    }

    #[tokio::test]
    async fn a_call_past_its_deadline_is_answered_and_abandoned() {
        let (seen, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
        let handler = tower::service_fn(move |_: Request<Body>| {
            let seen = seen.clone();
            async move {
                let _ = seen.send(Call::current());
                std::future::pending::<()>().await;
                Ok::<_, std::convert::Infallible>(Status::ok("").into_http())
            }
        });
        let mut gate = GateLayer::new(open_policy(4, 0, Duration::from_millis(50))).layer(handler);
        let response = gate.call(request(LIST)).await.unwrap();
        assert_eq!(code(&response), Code::DeadlineExceeded);
        let call = seen_rx
            .recv()
            .await
            .unwrap()
            .expect("the handler runs inside a call");
        assert!(call.is_abandoned());
    }
}
