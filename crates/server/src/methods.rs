//! The methods this server knows, named once for auth, limits and metrics.
//!
//! Metric labels come only from these names, so a client calling made-up paths cannot grow the
//! metrics without bound: an unknown path is `unknown/unknown`.

use std::fmt;

use civcas_proto::v1::{
    assessment_service_server, figure_service_server, incident_service_server,
    source_service_server, statement_service_server,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Sources,
    Incidents,
    Assessments,
    Statements,
    Figures,
    Health,
    ReflectionV1,
    ReflectionV1Alpha,
    Unknown,
}

/// Each service's full name and its methods.
const SERVICES: [(Service, &str, &[&str]); 8] = [
    (
        Service::Sources,
        source_service_server::SERVICE_NAME,
        &["RegisterSource", "GetSource", "ListSources", "UpdateSource"],
    ),
    (
        Service::Incidents,
        incident_service_server::SERVICE_NAME,
        &[
            "RecordIncident",
            "GetIncident",
            "ListIncidents",
            "LinkIncidents",
            "UnlinkIncidents",
        ],
    ),
    (
        Service::Assessments,
        assessment_service_server::SERVICE_NAME,
        &["RecordAssessment", "ImportAssessments", "ListAssessments"],
    ),
    (
        Service::Statements,
        statement_service_server::SERVICE_NAME,
        &["RecordStatement", "ListStatements", "GetStatementRevisions"],
    ),
    (
        Service::Figures,
        figure_service_server::SERVICE_NAME,
        &[
            "GetReconciledFigures",
            "GetFigureSeries",
            "GetAssessmentFlow",
            "WatchFigures",
        ],
    ),
    (
        Service::Health,
        "grpc.health.v1.Health",
        &["Check", "Watch"],
    ),
    (
        Service::ReflectionV1,
        "grpc.reflection.v1.ServerReflection",
        &["ServerReflectionInfo"],
    ),
    (
        Service::ReflectionV1Alpha,
        "grpc.reflection.v1alpha.ServerReflection",
        &["ServerReflectionInfo"],
    ),
];

const UNKNOWN: &str = "unknown";

/// A call's method, from its HTTP/2 path `/<service>/<method>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method {
    pub service: Service,
    /// The service's full name, or `unknown`.
    pub service_name: &'static str,
    /// The method's name, or `unknown`.
    pub name: &'static str,
}

impl Method {
    pub fn from_path(path: &str) -> Self {
        let unknown = Self {
            service: Service::Unknown,
            service_name: UNKNOWN,
            name: UNKNOWN,
        };
        let Some((service_name, name)) = path.trim_start_matches('/').split_once('/') else {
            return unknown;
        };
        let Some((service, service_name, methods)) =
            SERVICES.iter().find(|(_, full, _)| *full == service_name)
        else {
            return unknown;
        };
        Self {
            service: *service,
            service_name,
            name: methods.iter().find(|m| **m == name).unwrap_or(&UNKNOWN),
        }
    }

    /// Health and reflection: open to all, never shed, never timed out by the server.
    pub fn is_infrastructure(&self) -> bool {
        matches!(
            self.service,
            Service::Health | Service::ReflectionV1 | Service::ReflectionV1Alpha
        )
    }

    /// A call that streams its request: bounded only by the client's deadline, not the server's.
    pub fn streams_requests(&self) -> bool {
        self.service == Service::Assessments && self.name == "ImportAssessments"
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/{}", self.service_name, self.name)
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn every_rpc_in_the_proto_is_known() {
        let files =
            prost_types::FileDescriptorSet::decode(civcas_proto::FILE_DESCRIPTOR_SET).unwrap();
        for file in &files.file {
            for service in &file.service {
                for rpc in &service.method {
                    let path = format!("/{}.{}/{}", file.package(), service.name(), rpc.name());
                    let method = Method::from_path(&path);
                    assert_eq!(method.to_string(), path);
                }
            }
        }
    }

    #[test]
    fn made_up_paths_are_unknown() {
        for path in ["/civcas.v1.SourceService/Nope", "/x.Y/Z", "garbage", "/"] {
            let method = Method::from_path(path);
            assert_eq!(method.name, "unknown", "{path}");
        }
        assert_eq!(Method::from_path("/x.Y/Z").service, Service::Unknown);
    }
}
