//! Panics: a handler that panics, while making its future or while running it, is answered
//! INTERNAL with a generic message, and the panic is logged. The server and the next call go on.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll};

use futures::future::{BoxFuture, FutureExt};
use http::{Request, Response};
use tonic::body::Body;
use tower::{Layer, Service};

use crate::errors;
use crate::methods::Method;

#[derive(Debug, Clone, Default)]
pub struct CatchPanicLayer;

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> CatchPanic<S> {
        CatchPanic { inner }
    }
}

#[derive(Debug, Clone)]
pub struct CatchPanic<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for CatchPanic<S>
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
        let work = match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(work) => work,
            Err(panic) => return std::future::ready(Ok(panicked(&method, &*panic))).boxed(),
        };
        AssertUnwindSafe(work)
            .catch_unwind()
            .map(move |outcome| outcome.unwrap_or_else(|panic| Ok(panicked(&method, &*panic))))
            .boxed()
    }
}

fn panicked(method: &Method, panic: &(dyn Any + Send)) -> Response<Body> {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    tracing::error!(%method, panic = message, "handler panicked; answered INTERNAL");
    errors::panicked().into_http()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tonic::{Code, Status};

    use super::*;
    use crate::middleware::tests::{LIST, code, request};

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
        let mut catch = CatchPanicLayer.layer(handler);
        let first = catch.call(request(LIST)).await.unwrap();
        assert_eq!(code(&first), Code::Internal);
        let status = Status::from_header_map(first.headers()).unwrap();
        assert!(!status.message().contains("first call"), "{status:?}");
        let second = catch.call(request(LIST)).await.unwrap();
        assert_eq!(code(&second), Code::Ok);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_handler_that_panics_before_its_future_answers_internal() {
        let handler = tower::service_fn(
            |_: Request<Body>| -> std::future::Ready<Result<_, std::convert::Infallible>> {
                panic!("no future")
            },
        );
        let response = CatchPanicLayer
            .layer(handler)
            .call(request(LIST))
            .await
            .unwrap();
        assert_eq!(code(&response), Code::Internal);
    }
}
