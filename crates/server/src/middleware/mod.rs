//! The tower layers every call passes through, each in its own module, composed in
//! [`Middleware::layer`]. Outermost first:
//!
//! 1. [`observe`]: counts the call and times it for the metrics, by method and final gRPC code;
//! 2. [`drain`]: turns away new calls while shutting down (a [`refuse`] check);
//! 3. auth: checks the bearer token (`crate::auth`, a [`refuse`] check);
//! 4. [`deadline`]: bounds the call by its deadline, and cancels its database work when it ends
//!    early;
//! 5. [`admission`]: sheds calls beyond the concurrency limit and its queue;
//! 6. [`panics`]: turns a handler's panic into INTERNAL;
//! 7. the error details tonic leaves out of its own errors ([`errors::with_error_info_on_tonic_errors`]).
//!
//! Health and reflection pass every layer but `observe` untouched, so that probes and tools work
//! under any load.

pub mod admission;
pub mod deadline;
pub mod drain;
pub mod observe;
pub mod panics;
pub mod refuse;

use std::sync::Arc;
use std::time::Duration;

use http::Response;
use tonic::body::Body;
use tower::util::MapResponse;
use tower::{Layer, ServiceBuilder};

use self::admission::{Admission, AdmissionLayer, Concurrency};
use self::deadline::{Deadline, DeadlineLayer};
use self::drain::Draining;
use self::observe::{Observe, ObserveLayer};
use self::panics::{CatchPanic, CatchPanicLayer};
use self::refuse::{Refuse, RefuseLayer};
use crate::auth::Authenticator;
use crate::errors;
use crate::metrics::Metrics;

/// Every layer of the server, in order, shared by every connection.
#[derive(Debug, Clone)]
pub struct Middleware {
    observe: ObserveLayer,
    drain: RefuseLayer<Draining>,
    auth: RefuseLayer<Authenticator>,
    deadline: DeadlineLayer,
    admission: AdmissionLayer,
}

impl Middleware {
    pub fn new(
        metrics: Arc<Metrics>,
        draining: Arc<Draining>,
        auth: Arc<Authenticator>,
        concurrency: Concurrency,
        request_timeout: Duration,
    ) -> Self {
        Self {
            observe: ObserveLayer::new(metrics),
            drain: RefuseLayer::new(draining),
            auth: RefuseLayer::new(auth),
            deadline: DeadlineLayer::new(request_timeout),
            admission: AdmissionLayer::new(concurrency),
        }
    }
}

type WithErrorInfo<S> = MapResponse<S, fn(Response<Body>) -> Response<Body>>;

/// A service behind every layer.
pub type Layered<S> = Observe<
    Refuse<Refuse<Deadline<Admission<CatchPanic<WithErrorInfo<S>>>>, Authenticator>, Draining>,
>;

impl<S> Layer<S> for Middleware {
    type Service = Layered<S>;

    fn layer(&self, service: S) -> Layered<S> {
        ServiceBuilder::new()
            .layer(self.observe.clone())
            .layer(self.drain.clone())
            .layer(self.auth.clone())
            .layer(self.deadline.clone())
            .layer(self.admission.clone())
            .layer(CatchPanicLayer)
            .map_response(errors::with_error_info_on_tonic_errors as fn(_) -> _)
            .service(service)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use http::Request;
    use tonic::{Code, Status};

    use super::*;

    pub const LIST: &str = "/civcas.v1.SourceService/ListSources";

    pub fn request(path: &str) -> Request<Body> {
        Request::builder()
            .uri(format!("http://localhost{path}"))
            .body(Body::empty())
            .unwrap()
    }

    pub fn code<B>(response: &Response<B>) -> Code {
        Status::from_header_map(response.headers()).map_or(Code::Ok, |status| status.code())
    }
}
