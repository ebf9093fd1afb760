//! Draining: once shutdown begins, new calls are refused with UNAVAILABLE (`SHUTTING_DOWN`), while
//! calls already admitted finish. Health and reflection still answer, so probes see the shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures::future::{BoxFuture, FutureExt};
use http::{Request, Response};
use tonic::body::Body;
use tower::{Layer, Service};

use crate::errors;
use crate::methods::Method;

/// Whether the server is shutting down, shared by every connection.
#[derive(Debug, Default)]
pub struct Draining(AtomicBool);

impl Draining {
    /// From now on, new calls are refused; calls already admitted go on.
    pub fn start(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn started(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

#[derive(Debug, Clone)]
pub struct DrainLayer {
    draining: Arc<Draining>,
}

impl DrainLayer {
    pub fn new(draining: Arc<Draining>) -> Self {
        Self { draining }
    }
}

impl<S> Layer<S> for DrainLayer {
    type Service = Drain<S>;

    fn layer(&self, inner: S) -> Drain<S> {
        Drain {
            inner,
            draining: Arc::clone(&self.draining),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Drain<S> {
    inner: S,
    draining: Arc<Draining>,
}

impl<S> Service<Request<Body>> for Drain<S>
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
        if self.draining.started() && !Method::from_path(request.uri().path()).is_infrastructure() {
            let refused = errors::shutting_down().into_http();
            return std::future::ready(Ok(refused)).boxed();
        }
        self.inner.call(request).boxed()
    }
}

#[cfg(test)]
mod tests {
    use tonic::{Code, Status};

    use super::*;

    fn request(path: &str) -> Request<Body> {
        Request::builder()
            .uri(format!("http://localhost{path}"))
            .body(Body::empty())
            .unwrap()
    }

    fn code(response: &Response<Body>) -> Code {
        Status::from_header_map(response.headers()).map_or(Code::Ok, |status| status.code())
    }

    #[tokio::test]
    async fn draining_refuses_new_calls_but_not_health() {
        let handler = tower::service_fn(|_: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(Status::ok("").into_http())
        });
        let draining = Arc::new(Draining::default());
        let mut drain = DrainLayer::new(Arc::clone(&draining)).layer(handler);
        let list = "/civcas.v1.SourceService/ListSources";
        assert_eq!(code(&drain.call(request(list)).await.unwrap()), Code::Ok);
        draining.start();
        assert_eq!(
            code(&drain.call(request(list)).await.unwrap()),
            Code::Unavailable
        );
        let health = drain.call(request("/grpc.health.v1.Health/Check")).await;
        assert_eq!(code(&health.unwrap()), Code::Ok);
    }
}
