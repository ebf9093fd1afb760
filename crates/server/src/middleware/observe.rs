//! Counts and times every call for [`crate::metrics`], by its final gRPC code.
//!
//! The code of a successful call arrives in the response's trailers, after the last message, so the
//! response body is watched until then. A body dropped before its trailers is a call the client
//! cancelled.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::Instant;
use tonic::Code;
use tower::{Layer, Service};

use crate::methods::Method;
use crate::metrics::Metrics;

#[derive(Debug, Clone)]
pub struct ObserveLayer {
    metrics: Arc<Metrics>,
}

impl ObserveLayer {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Observe<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // Found once here, for every layer within.
        let method = Method::from_path(request.uri().path());
        request.extensions_mut().insert(method);
        let mut observation = Some(Observation {
            metrics: Arc::clone(&self.metrics),
            method,
            started: Instant::now(),
        });
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = match response.await {
                Ok(response) => response,
                Err(error) => {
                    if let Some(observation) = observation.take() {
                        observation.finish(Code::Unknown);
                    }
                    return Err(error);
                }
            };
            // A trailers-only response (an error, usually) carries its code in the headers.
            if let Some(code) = grpc_code(response.headers())
                && let Some(observation) = observation.take()
            {
                observation.finish(code);
            }
            Ok(response.map(|inner| ObservedBody { inner, observation }))
        })
    }
}

/// A call being timed; finished exactly once, with its code.
#[derive(Debug)]
struct Observation {
    metrics: Arc<Metrics>,
    method: Method,
    started: Instant,
}

impl Observation {
    fn finish(self, code: Code) {
        self.metrics
            .call_handled(&self.method, code, self.started.elapsed());
    }
}

fn grpc_code(headers: &HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?.to_str().ok()?;
    Some(Code::from_i32(value.parse().ok()?))
}

pin_project! {
    /// A response body that finishes its call's observation when the trailers go by.
    #[derive(Debug)]
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        observation: Option<Observation>,
    }

    impl<B> PinnedDrop for ObservedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(observation) = this.project().observation.take() {
                observation.finish(Code::Cancelled);
            }
        }
    }
}

impl<B: Body> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let frame = std::task::ready!(this.inner.poll_frame(cx));
        let code = match &frame {
            Some(Ok(frame)) => frame
                .trailers_ref()
                .map(|t| grpc_code(t).unwrap_or(Code::Unknown)),
            Some(Err(_)) | None => Some(Code::Unknown),
        };
        if let Some(code) = code
            && let Some(observation) = this.observation.take()
        {
            observation.finish(code);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use tonic::Status;

    use super::*;
    use crate::middleware::tests::{LIST, request};

    fn answering(
        response: fn() -> Response<tonic::body::Body>,
    ) -> impl Service<
        Request<tonic::body::Body>,
        Response = Response<tonic::body::Body>,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone {
        tower::service_fn(move |_| std::future::ready(Ok(response())))
    }

    #[tokio::test]
    async fn calls_are_counted_by_the_code_in_their_headers_or_trailers_or_as_cancelled() {
        let metrics = Arc::new(Metrics::new());
        let layer = ObserveLayer::new(Arc::clone(&metrics));
        let list = Method::from_path(LIST);

        let refused = || Status::not_found("no such source").into_http();
        let response = layer.layer(answering(refused)).call(request(LIST)).await;
        drop(response);
        assert_eq!(metrics.handled(&list, Code::NotFound), 1);

        let with_trailers = || {
            let mut trailers = HeaderMap::new();
            trailers.insert("grpc-status", "0".parse().unwrap());
            let frames = futures::stream::iter([Ok::<_, Status>(Frame::trailers(trailers))]);
            Response::new(tonic::body::Body::new(http_body_util::StreamBody::new(
                frames,
            )))
        };
        let response = layer.layer(answering(with_trailers)).call(request(LIST));
        let body = response.await.unwrap().into_body();
        assert_eq!(
            metrics.handled(&list, Code::Ok),
            0,
            "not before the trailers"
        );
        body.collect().await.unwrap();
        assert_eq!(metrics.handled(&list, Code::Ok), 1);

        let unread = layer.layer(answering(with_trailers)).call(request(LIST));
        drop(unread.await.unwrap());
        assert_eq!(metrics.handled(&list, Code::Cancelled), 1);
    }
}
