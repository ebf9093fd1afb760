//! Deadlines: a call runs at most until the client's `grpc-timeout`, capped by the server's request
//! timeout; past it, the call is answered DEADLINE_EXCEEDED and abandoned. An abandoned call's
//! database connections cancel its queries (see `civcas_persistence::call`), whether the deadline
//! passed or the client went away. Health and reflection are never timed out by the server.

use std::task::{Context, Poll};
use std::time::Duration;

use civcas_persistence::call::Call;
use futures::future::{BoxFuture, FutureExt};
use http::{HeaderMap, Request, Response};
use tokio::time::Instant;
use tonic::body::Body;
use tower::{Layer, Service};

use crate::errors;
use crate::methods::Method;

#[derive(Debug, Clone)]
pub struct DeadlineLayer {
    request_timeout: Duration,
}

impl DeadlineLayer {
    pub fn new(request_timeout: Duration) -> Self {
        Self { request_timeout }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            request_timeout: self.request_timeout,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
    request_timeout: Duration,
}

impl<S> Service<Request<Body>> for Deadline<S>
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
        let method = Method::of(&request);
        if method.is_infrastructure() {
            return self.inner.call(request).boxed();
        }
        let limit = call_timeout(&method, request.headers(), self.request_timeout)
            .map(|timeout| (Instant::now() + timeout, timeout));
        let call = Call::new(limit.map(|(deadline, _)| deadline));
        let work = call.clone().run(self.inner.call(request));
        async move {
            tokio::pin!(work);
            // Dropped before `work` (locals drop in reverse): when this call is dropped half-way
            // because its client went away, its connections see the call abandoned and cancel
            // their queries. After normal completion it changes nothing.
            let _abandon_on_drop = AbandonOnDrop(call.clone());
            let Some((deadline, timeout)) = limit else {
                return work.await;
            };
            tokio::select! {
                outcome = &mut work => outcome,
                () = tokio::time::sleep_until(deadline) => {
                    call.abandon();
                    Ok(errors::deadline_exceeded(timeout).into_http())
                }
            }
        }
        .boxed()
    }
}

struct AbandonOnDrop(Call);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.abandon();
    }
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
    use tonic::{Code, Status};

    use super::*;
    use crate::middleware::tests::{LIST, code, request};

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
        let mut deadline = DeadlineLayer::new(Duration::from_millis(50)).layer(handler);
        let response = deadline.call(request(LIST)).await.unwrap();
        assert_eq!(code(&response), Code::DeadlineExceeded);
        let call = seen_rx
            .recv()
            .await
            .unwrap()
            .expect("the handler runs inside a call");
        assert!(call.is_abandoned());
    }
}
