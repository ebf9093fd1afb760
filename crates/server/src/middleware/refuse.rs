//! A layer that answers a call with an error itself when a [`Check`] refuses it, and passes it on
//! otherwise. Health and reflection are never refused, so that probes and tools always answer.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::{BoxFuture, FutureExt};
use http::{HeaderMap, Request, Response};
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

use crate::methods::Method;

/// Decides, from its method and headers alone, whether a call may go on.
pub trait Check: Send + Sync + 'static {
    fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), Status>;
}

#[derive(Debug)]
pub struct RefuseLayer<C> {
    check: Arc<C>,
}

impl<C> RefuseLayer<C> {
    pub fn new(check: Arc<C>) -> Self {
        Self { check }
    }
}

impl<C> Clone for RefuseLayer<C> {
    fn clone(&self) -> Self {
        Self::new(Arc::clone(&self.check))
    }
}

impl<S, C> Layer<S> for RefuseLayer<C> {
    type Service = Refuse<S, C>;

    fn layer(&self, inner: S) -> Refuse<S, C> {
        Refuse {
            inner,
            check: Arc::clone(&self.check),
        }
    }
}

#[derive(Debug)]
pub struct Refuse<S, C> {
    inner: S,
    check: Arc<C>,
}

impl<S: Clone, C> Clone for Refuse<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            check: Arc::clone(&self.check),
        }
    }
}

impl<S, C> Service<Request<Body>> for Refuse<S, C>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    C: Check,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let method = Method::of(&request);
        if !method.is_infrastructure()
            && let Err(status) = self.check.check(&method, request.headers())
        {
            return std::future::ready(Ok(status.into_http())).boxed();
        }
        self.inner.call(request).boxed()
    }
}
