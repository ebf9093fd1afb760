//! Who may call what: bearer tokens with roles.
//!
//! Roles are ordered: `read` queries, `write` also records and imports, `admin` also registers and
//! updates sources. Health and reflection are open to anyone, so that load balancers and grpcurl work
//! without a token. Tokens are configured only as SHA-256 hashes; a presented token is hashed and
//! compared with every configured hash in constant time.

use http::HeaderMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::Status;

use crate::errors;
use crate::methods::{Access, Method};
use crate::middleware::refuse::Check;
use crate::settings::{AuthMode, AuthSettings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Read,
    Write,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }
}

/// The role a method needs, or `None` for health and reflection (see [`crate::methods`]).
pub fn required_role(method: &Method) -> Option<Role> {
    match method.access {
        Access::Open => None,
        Access::Requires(role) => Some(role),
    }
}

/// A configured token: its hash, its role and its holder's name.
#[derive(Debug, Clone)]
struct KnownToken {
    sha256: [u8; 32],
    role: Role,
    name: String,
}

/// Checks each call's bearer token against the configured ones.
#[derive(Debug, Clone)]
pub struct Authenticator {
    /// `None` when auth is disabled by configuration.
    tokens: Option<Vec<KnownToken>>,
}

impl Authenticator {
    pub fn from_settings(settings: &AuthSettings) -> anyhow::Result<Self> {
        if settings.mode == AuthMode::Disabled {
            return Ok(Self { tokens: None });
        }
        let mut tokens = Vec::with_capacity(settings.tokens.len());
        for (i, token) in settings.tokens.iter().enumerate() {
            let mut sha256 = [0_u8; 32];
            hex::decode_to_slice(token.sha256.trim(), &mut sha256).map_err(|_| {
                anyhow::anyhow!(
                    "auth.tokens[{i}].sha256 ({}) must be 64 hex digits: the SHA-256 of the token, \
                     as `civcas-server hash-token` prints it",
                    token.name
                )
            })?;
            tokens.push(KnownToken {
                sha256,
                role: token.role,
                name: token.name.clone(),
            });
        }
        Ok(Self {
            tokens: Some(tokens),
        })
    }

    pub fn is_disabled(&self) -> bool {
        self.tokens.is_none()
    }

    /// How many tokens are accepted (0 when disabled).
    pub fn token_count(&self) -> usize {
        self.tokens.as_ref().map_or(0, Vec::len)
    }

    /// Lets the call through, or answers UNAUTHENTICATED (no token, or an unknown one) or
    /// PERMISSION_DENIED (a known token whose role is too low).
    pub fn authorize(&self, method: &Method, headers: &HeaderMap) -> Result<(), Status> {
        let (Some(tokens), Some(required)) = (&self.tokens, required_role(method)) else {
            return Ok(());
        };
        let Some(presented) = bearer_token(headers) else {
            return Err(errors::unauthenticated(
                "TOKEN_MISSING",
                "this call needs a bearer token: send the header `authorization: Bearer <token>`",
            ));
        };
        let presented = Sha256::digest(presented.as_bytes());
        // Every configured hash is compared, in constant time, whether or not one matched already.
        let mut holder = None;
        for token in tokens {
            if bool::from(token.sha256.ct_eq(presented.as_slice())) {
                holder = Some(token);
            }
        }
        let Some(holder) = holder else {
            return Err(errors::unauthenticated(
                "TOKEN_INVALID",
                "the bearer token is not one this server accepts",
            ));
        };
        if holder.role < required {
            tracing::info!(caller = %holder.name, method = %method, "permission denied");
            return Err(errors::permission_denied(
                method,
                required.as_str(),
                holder.role.as_str(),
            ));
        }
        Ok(())
    }
}

/// The token of an `authorization: Bearer <token>` header; the scheme is case-insensitive.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The hex SHA-256 of a token, as configuration stores it.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// Auth as a layer of its own ([`crate::middleware::refuse`]).
impl Check for Authenticator {
    fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), Status> {
        self.authorize(method, headers)
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use tonic::Code;

    use super::*;
    use crate::settings::TokenSettings;

    fn authenticator() -> Authenticator {
        let token = |name: &str, role| TokenSettings {
            name: name.into(),
            role,
            sha256: hash_token(&format!("{name}-secret")),
        };
        Authenticator::from_settings(&AuthSettings {
            mode: AuthMode::Required,
            tokens: vec![
                token("reader", Role::Read),
                token("writer", Role::Write),
                token("admin", Role::Admin),
            ],
        })
        .unwrap()
    }

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, authorization.parse().unwrap());
        headers
    }

    fn method(path: &str) -> Method {
        Method::from_path(path)
    }

    #[test]
    fn roles_are_ordered() {
        let auth = authenticator();
        let write = method("/civcas.v1.AssessmentService/RecordAssessment");
        let denied = auth
            .authorize(&write, &headers("Bearer reader-secret"))
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        assert!(
            auth.authorize(&write, &headers("bearer writer-secret"))
                .is_ok()
        );
        assert!(
            auth.authorize(&write, &headers("Bearer admin-secret"))
                .is_ok()
        );
    }

    #[test]
    fn missing_malformed_and_unknown_tokens_are_unauthenticated() {
        let auth = authenticator();
        let read = method("/civcas.v1.SourceService/ListSources");
        for value in [
            "Bearer nope",
            "Basic reader-secret",
            "Bearer ",
            "reader-secret",
        ] {
            let err = auth.authorize(&read, &headers(value)).unwrap_err();
            assert_eq!(err.code(), Code::Unauthenticated, "{value}");
        }
        let err = auth.authorize(&read, &HeaderMap::new()).unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
    }

    #[test]
    fn health_and_reflection_are_open() {
        let auth = authenticator();
        for path in [
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert!(auth.authorize(&method(path), &HeaderMap::new()).is_ok());
        }
    }

    #[test]
    fn disabled_auth_lets_everything_through() {
        let auth = Authenticator::from_settings(&AuthSettings {
            mode: AuthMode::Disabled,
            tokens: Vec::new(),
        })
        .unwrap();
        let admin = method("/civcas.v1.SourceService/RegisterSource");
        assert!(auth.authorize(&admin, &HeaderMap::new()).is_ok());
    }

    #[test]
    fn a_bad_hash_in_the_config_is_reported_with_its_index() {
        let err = Authenticator::from_settings(&AuthSettings {
            mode: AuthMode::Required,
            tokens: vec![TokenSettings {
                name: "ops".into(),
                role: Role::Admin,
                sha256: "plain-text-token".into(),
            }],
        })
        .unwrap_err();
        assert!(err.to_string().contains("auth.tokens[0].sha256"), "{err}");
    }

    #[test]
    fn every_rpc_in_the_proto_has_a_role_of_its_own() {
        let files =
            prost_types::FileDescriptorSet::decode(civcas_proto::FILE_DESCRIPTOR_SET).unwrap();
        let mut admin = Vec::new();
        let mut count = 0;
        for file in &files.file {
            for service in &file.service {
                for rpc in &service.method {
                    let path = format!("/{}.{}/{}", file.package(), service.name(), rpc.name());
                    let role = required_role(&method(&path));
                    assert!(role.is_some(), "{path} must not be open");
                    if role == Some(Role::Admin) {
                        admin.push(rpc.name().to_owned());
                    }
                    count += 1;
                }
            }
        }
        assert_eq!(count, 19, "a new RPC needs a role in required_role");
        assert_eq!(admin, ["RegisterSource", "UpdateSource"]);
        assert_eq!(
            required_role(&method("/civcas.v1.SourceService/DropEverything")),
            Some(Role::Admin)
        );
    }
}
