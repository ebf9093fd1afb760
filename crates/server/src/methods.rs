//! The methods this server knows, named once for auth, limits and metrics.
//!
//! Metric labels come only from these names, so a client calling made-up paths cannot grow the
//! metrics without bound: an unknown path is `unknown/unknown`.

use std::fmt;

use civcas_proto::v1::{
    assessment_service_server, figure_service_server, incident_service_server,
    source_service_server, statement_service_server,
};

use crate::auth::Role;

/// Who may call a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Health and reflection: open to all, never shed, never timed out by the server.
    Open,
    /// A bearer token with at least this role.
    Requires(Role),
}

/// One method: its name, who may call it, and whether it streams its request (and is then bounded
/// only by the client's deadline, since a large import takes minutes).
#[derive(Debug, Clone, Copy)]
struct Spec {
    name: &'static str,
    access: Access,
    streams_requests: bool,
}

const fn open(name: &'static str) -> Spec {
    Spec {
        name,
        access: Access::Open,
        streams_requests: false,
    }
}

const fn requires(role: Role, name: &'static str) -> Spec {
    Spec {
        name,
        access: Access::Requires(role),
        streams_requests: false,
    }
}

/// Each service's full name and its methods, with their roles: `admin` registers and updates
/// sources, `write` records and imports, `read` queries.
const SERVICES: [(&str, &[Spec]); 8] = [
    (
        source_service_server::SERVICE_NAME,
        &[
            requires(Role::Admin, "RegisterSource"),
            requires(Role::Read, "GetSource"),
            requires(Role::Read, "ListSources"),
            requires(Role::Admin, "UpdateSource"),
        ],
    ),
    (
        incident_service_server::SERVICE_NAME,
        &[
            requires(Role::Write, "RecordIncident"),
            requires(Role::Read, "GetIncident"),
            requires(Role::Read, "ListIncidents"),
            requires(Role::Write, "LinkIncidents"),
            requires(Role::Write, "UnlinkIncidents"),
        ],
    ),
    (
        assessment_service_server::SERVICE_NAME,
        &[
            requires(Role::Write, "RecordAssessment"),
            Spec {
                streams_requests: true,
                ..requires(Role::Write, "ImportAssessments")
            },
            requires(Role::Read, "ListAssessments"),
        ],
    ),
    (
        statement_service_server::SERVICE_NAME,
        &[
            requires(Role::Write, "RecordStatement"),
            requires(Role::Read, "ListStatements"),
            requires(Role::Read, "GetStatementRevisions"),
        ],
    ),
    (
        figure_service_server::SERVICE_NAME,
        &[
            requires(Role::Read, "GetReconciledFigures"),
            requires(Role::Read, "GetFigureSeries"),
            requires(Role::Read, "GetAssessmentFlow"),
            requires(Role::Read, "WatchFigures"),
        ],
    ),
    ("grpc.health.v1.Health", &[open("Check"), open("Watch")]),
    (
        "grpc.reflection.v1.ServerReflection",
        &[open("ServerReflectionInfo")],
    ),
    (
        "grpc.reflection.v1alpha.ServerReflection",
        &[open("ServerReflectionInfo")],
    ),
];

const UNKNOWN: Spec = Spec {
    name: "unknown",
    // Unknown to the table: only the most trusted callers reach it (and get UNIMPLEMENTED).
    access: Access::Requires(Role::Admin),
    streams_requests: false,
};

/// A call's method, from its HTTP/2 path `/<service>/<method>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method {
    /// The service's full name, or `unknown`.
    pub service_name: &'static str,
    /// The method's name, or `unknown`.
    pub name: &'static str,
    pub access: Access,
    /// Whether the call streams its request (ImportAssessments).
    pub streams_requests: bool,
}

impl Method {
    pub fn from_path(path: &str) -> Self {
        let found =
            path.trim_start_matches('/')
                .split_once('/')
                .and_then(|(service_name, name)| {
                    let (service_name, methods) =
                        SERVICES.iter().find(|(full, _)| *full == service_name)?;
                    let spec = methods.iter().find(|m| m.name == name).unwrap_or(&UNKNOWN);
                    Some((*service_name, *spec))
                });
        let (service_name, spec) = found.unwrap_or((UNKNOWN.name, UNKNOWN));
        Self {
            service_name,
            name: spec.name,
            access: spec.access,
            streams_requests: spec.streams_requests,
        }
    }

    /// The method of `request`: as the outermost layer ([`crate::middleware::observe`]) found it
    /// once, or from its path.
    pub fn of<B>(request: &http::Request<B>) -> Self {
        request
            .extensions()
            .get::<Self>()
            .copied()
            .unwrap_or_else(|| Self::from_path(request.uri().path()))
    }

    /// Health and reflection: open to all, never shed, never timed out by the server.
    pub fn is_infrastructure(&self) -> bool {
        self.access == Access::Open
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
        assert_eq!(Method::from_path("/x.Y/Z").service_name, "unknown");
    }
}
