//! Draining: once shutdown begins, new calls are refused with UNAVAILABLE (`SHUTTING_DOWN`), while
//! calls already admitted finish. Health and reflection still answer, so probes see the shutdown.

use std::sync::atomic::{AtomicBool, Ordering};

use http::HeaderMap;
use tonic::Status;

use super::refuse::Check;
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
}

impl Check for Draining {
    fn check(&self, _method: &Method, _headers: &HeaderMap) -> Result<(), Status> {
        if self.0.load(Ordering::Acquire) {
            Err(errors::shutting_down())
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http::{Request, Response};
    use tonic::Code;
    use tonic::body::Body;
    use tower::{Layer, Service};

    use super::*;
    use crate::middleware::refuse::RefuseLayer;

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
        let mut drain = RefuseLayer::new(Arc::clone(&draining)).layer(handler);
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
