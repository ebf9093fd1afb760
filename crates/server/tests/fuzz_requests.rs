//! Property-based fuzzing of decoding and validation, for every request type of the API.
//!
//! Each case goes through the server's real middleware and generated service, exactly as a call
//! arrives over HTTP/2: one gRPC frame on the method's path. Two kinds of input:
//! - arbitrary bytes, which are mostly not protobuf at all;
//! - structurally valid messages of the method's request type, built from the descriptor with
//!   awkward values in their fields (empty, huge, non-ASCII, negative, unknown enum numbers, deep
//!   nesting, lists past the limits).
//!
//! The properties: no panic; a code a bad request may get; exactly one ErrorInfo; and an
//! INVALID_ARGUMENT names its fields. Storage is out of scope here: the repository refuses every
//! call (UNAVAILABLE), so a request that passes validation shows up as UNAVAILABLE. The end-to-end
//! tests cover storage.
//!
//! `CIVCAS_FUZZ_CASES` sets the cases per property (default 3,000, which CI runs).

use std::sync::Arc;
use std::time::Duration;

use civcas_domain::assessment::{Assessment, NewAssessment, RecordedAssessment};
use civcas_domain::dates::DateInterval;
use civcas_domain::incident::{Incident, IncidentLink, IncidentPair, NewIncident};
use civcas_domain::reconcile::flow::AssessmentFlow;
use civcas_domain::reconcile::{FigureQuery, ReconciledFigures};
use civcas_domain::repository::{
    AssessmentFilter, AssessmentRepository, FigureRepository, IdempotencyKey, ImportRow,
    ImportedBatch, IncidentFilter, IncidentRepository, SourceRepository, StatementFilter,
    StatementRepository,
};
use civcas_domain::statement::{Revision, Statement};
use civcas_domain::{
    IncidentId, NewSource, NewStatement, Page, PageRequest, RepositoryError, RepositoryResult,
    Source, SourceId, SourceUpdate, StatementId, Written,
};
use civcas_proto::v1::assessment_service_server::AssessmentServiceServer;
use civcas_proto::v1::figure_service_server::FigureServiceServer;
use civcas_proto::v1::incident_service_server::IncidentServiceServer;
use civcas_proto::v1::source_service_server::SourceServiceServer;
use civcas_proto::v1::statement_service_server::StatementServiceServer;
use civcas_server::api::{AssessmentApi, FigureApi, IncidentApi, SourceApi, StatementApi};
use civcas_server::auth::Authenticator;
use civcas_server::metrics::Metrics;
use civcas_server::middleware::admission::Concurrency;
use civcas_server::middleware::drain::Draining;
use civcas_server::middleware::{Layered, Middleware};
use civcas_server::settings::{AuthMode, AuthSettings};
use http_body_util::BodyExt;
use hyper::body::Bytes;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor, Value};
use tonic::body::Body;
use tonic::{Code, Status};
use tonic_types::{ErrorDetail, StatusExt};
use tower::{Layer, ServiceExt};

/// A repository that refuses everything: what passes validation ends here, as UNAVAILABLE.
#[derive(Debug)]
struct Refusing;

fn refused<T>() -> RepositoryResult<T> {
    Err(RepositoryError::Unavailable("fuzzing: no storage".into()))
}

impl SourceRepository for Refusing {
    async fn register_source(
        &self,
        _: NewSource,
        _: Option<IdempotencyKey>,
    ) -> RepositoryResult<Written<Source>> {
        refused()
    }
    async fn get_source(&self, _: &SourceId) -> RepositoryResult<Source> {
        refused()
    }
    async fn list_sources(&self, _: PageRequest) -> RepositoryResult<Page<Source>> {
        refused()
    }
    async fn update_source(
        &self,
        _: SourceUpdate,
        _: Option<IdempotencyKey>,
    ) -> RepositoryResult<Written<Source>> {
        refused()
    }
}

impl IncidentRepository for Refusing {
    async fn record_incident(
        &self,
        _: NewIncident,
        _: Option<IdempotencyKey>,
    ) -> RepositoryResult<Written<Incident>> {
        refused()
    }
    async fn get_incident(&self, _: IncidentId) -> RepositoryResult<Incident> {
        refused()
    }
    async fn list_incidents(
        &self,
        _: IncidentFilter,
        _: PageRequest,
    ) -> RepositoryResult<Page<Incident>> {
        refused()
    }
    async fn link_incidents(
        &self,
        _: IncidentPair,
        _: Option<IdempotencyKey>,
    ) -> RepositoryResult<Written<IncidentLink>> {
        refused()
    }
    async fn unlink_incidents(
        &self,
        _: IncidentPair,
        _: Option<IdempotencyKey>,
    ) -> RepositoryResult<bool> {
        refused()
    }
}

impl AssessmentRepository for Refusing {
    async fn record_assessment(
        &self,
        _: NewAssessment,
        _: Option<IdempotencyKey>,
    ) -> RepositoryResult<RecordedAssessment> {
        refused()
    }
    async fn list_assessments(
        &self,
        _: AssessmentFilter,
        _: PageRequest,
    ) -> RepositoryResult<Page<Assessment>> {
        refused()
    }
    async fn import_assessments(&self, _: Vec<ImportRow>) -> RepositoryResult<ImportedBatch> {
        refused()
    }
}

impl StatementRepository for Refusing {
    async fn record_statement(
        &self,
        _: NewStatement,
        _: Option<IdempotencyKey>,
    ) -> RepositoryResult<Written<Statement>> {
        refused()
    }
    async fn list_statements(
        &self,
        _: StatementFilter,
        _: PageRequest,
    ) -> RepositoryResult<Page<Statement>> {
        refused()
    }
    async fn statement_revisions(&self, _: StatementId) -> RepositoryResult<Vec<Revision>> {
        refused()
    }
}

impl FigureRepository for Refusing {
    async fn reconciled_figures(&self, _: FigureQuery) -> RepositoryResult<ReconciledFigures> {
        refused()
    }
    async fn figure_series(
        &self,
        _: FigureQuery,
        _: Vec<DateInterval>,
    ) -> RepositoryResult<Vec<ReconciledFigures>> {
        refused()
    }
    async fn assessment_flow(
        &self,
        _: SourceId,
        _: DateInterval,
    ) -> RepositoryResult<AssessmentFlow> {
        refused()
    }
    async fn source_ids(&self) -> RepositoryResult<Vec<SourceId>> {
        refused()
    }
}

/// The five services behind the server's middleware, as the server builds them (with auth off).
struct Api {
    sources: Layered<SourceServiceServer<SourceApi<Refusing>>>,
    incidents: Layered<IncidentServiceServer<IncidentApi<Refusing>>>,
    assessments: Layered<AssessmentServiceServer<AssessmentApi<Refusing>>>,
    statements: Layered<StatementServiceServer<StatementApi<Refusing>>>,
    figures: Layered<FigureServiceServer<FigureApi<Refusing>>>,
}

impl Api {
    fn new() -> Self {
        let middleware = Middleware::new(
            Arc::new(Metrics::new()),
            Arc::new(Draining::default()),
            Arc::new(
                Authenticator::from_settings(&AuthSettings {
                    mode: AuthMode::Disabled,
                    tokens: Vec::new(),
                })
                .unwrap(),
            ),
            Concurrency {
                max_concurrent_calls: 64,
                max_queued_calls: 0,
            },
            Duration::from_secs(5),
        );
        let repository = Arc::new(Refusing);
        // A closed change feed: a watch ends after its first (refused) computation.
        let (_, changes) = tokio::sync::watch::channel(0_u64);
        Self {
            sources: middleware.layer(SourceServiceServer::new(SourceApi::new(Arc::clone(
                &repository,
            )))),
            incidents: middleware.layer(IncidentServiceServer::new(IncidentApi::new(Arc::clone(
                &repository,
            )))),
            assessments: middleware.layer(AssessmentServiceServer::new(AssessmentApi::new(
                Arc::clone(&repository),
                Arc::new(Metrics::new()),
            ))),
            statements: middleware.layer(StatementServiceServer::new(StatementApi::new(
                Arc::clone(&repository),
            ))),
            figures: middleware.layer(FigureServiceServer::new(FigureApi::new(
                repository, changes,
            ))),
        }
    }

    /// Sends `message` (an encoded request, or any bytes) to `path` in one gRPC frame, and returns
    /// the call's final status.
    async fn call(&self, path: &str, message: &[u8]) -> Status {
        let mut frame = Vec::with_capacity(message.len() + 5);
        frame.push(0);
        frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
        frame.extend_from_slice(message);
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("http://fuzz{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(Body::new(http_body_util::Full::new(Bytes::from(frame))))
            .unwrap();
        let service = path.trim_start_matches('/').split('/').next().unwrap();
        let response = match service {
            "civcas.v1.SourceService" => self.sources.clone().oneshot(request).await,
            "civcas.v1.IncidentService" => self.incidents.clone().oneshot(request).await,
            "civcas.v1.AssessmentService" => self.assessments.clone().oneshot(request).await,
            "civcas.v1.StatementService" => self.statements.clone().oneshot(request).await,
            "civcas.v1.FigureService" => self.figures.clone().oneshot(request).await,
            other => panic!("no service {other}"),
        }
        .unwrap_or_else(|never| match never {});
        let (parts, body) = response.into_parts();
        if let Some(status) = Status::from_header_map(&parts.headers) {
            return status;
        }
        let collected = body.collect().await.expect("the body completes");
        let trailers = collected
            .trailers()
            .expect("a gRPC response ends in trailers");
        Status::from_header_map(trailers).expect("the trailers carry grpc-status")
    }
}

/// What a bad or unusual request may get back. OK comes from a request that passes validation and
/// then needs no storage (ImportAssessments with no rows); UNAVAILABLE is the refusing storage;
/// INTERNAL is a request that is not protobuf (MALFORMED_MESSAGE, checked below); RESOURCE_EXHAUSTED
/// a message over the size limit.
const ACCEPTABLE: [Code; 5] = [
    Code::Ok,
    Code::InvalidArgument,
    Code::Unavailable,
    Code::Internal,
    Code::ResourceExhausted,
];

/// Checks the properties every answer must have, and returns its code.
fn check(path: &str, status: &Status) -> Result<Code, TestCaseError> {
    let code = status.code();
    prop_assert!(ACCEPTABLE.contains(&code), "{path}: unexpected {status:?}");
    if code == Code::Ok {
        return Ok(code);
    }
    let details = status
        .check_error_details_vec()
        .map_err(|e| TestCaseError::fail(format!("{path}: details do not decode: {e}")))?;
    let infos: Vec<_> = details
        .iter()
        .filter_map(|d| match d {
            ErrorDetail::ErrorInfo(info) => Some(info),
            _ => None,
        })
        .collect();
    prop_assert_eq!(infos.len(), 1, "{}: {:?}", path, status);
    prop_assert!(
        infos[0].reason != "INTERNAL",
        "{path}: a handler panicked or failed: {status:?}"
    );
    if code == Code::Internal {
        prop_assert_eq!(&infos[0].reason, "MALFORMED_MESSAGE", "{}", path);
    }
    if code == Code::InvalidArgument {
        let details = status.get_error_details();
        let named = details.bad_request().is_some_and(|bad| {
            !bad.field_violations.is_empty()
                && bad.field_violations.iter().all(|v| !v.field.is_empty())
        });
        prop_assert!(
            named,
            "{path}: INVALID_ARGUMENT must name its fields: {status:?}"
        );
    }
    Ok(code)
}

/// Every civcas method's path and request type, from the descriptor.
fn methods(pool: &DescriptorPool) -> Vec<(String, MessageDescriptor)> {
    pool.services()
        .filter(|service| service.package_name() == "civcas.v1")
        .flat_map(|service| {
            service
                .methods()
                .map(|m| (format!("/{}/{}", service.full_name(), m.name()), m.input()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn cases() -> u32 {
    std::env::var("CIVCAS_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000)
}

/// A small deterministic generator, so that a failing seed reproduces.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Strings that have broken parsers before: valid-looking ones, boundaries and hostile ones.
const STRINGS: [&str; 24] = [
    "",
    " ",
    "airwars",
    "cjtf-oir",
    "SY",
    "IQ",
    "xx",
    "2017-01-01",
    "2017-02-29",
    "2017-13-45",
    "0000-00-00",
    "9999-12-31",
    "1",
    "-1",
    "18446744073709551616",
    "Raqqa",
    "الرقة",
    "\u{202e}evil",
    "nul\0byte",
    "' OR 1=1 --",
    "https://airwars.org/civilian-casualties/cs1",
    "javascript:alert(1)",
    "U\u{0334}\u{0322}n\u{0337}i\u{0336}c\u{0338}o\u{0335}d\u{0337}e",
    "%00%ff",
];

fn string(rng: &mut SplitMix) -> String {
    match rng.below(10) {
        0 => "x".repeat(rng.below(5000) as usize),
        1 => (0..rng.below(40))
            .map(|_| char::from_u32(rng.below(0x3000) as u32).unwrap_or('?'))
            .collect(),
        _ => rng.pick(&STRINGS).to_owned(),
    }
}

fn integer(rng: &mut SplitMix) -> i64 {
    let random = rng.next() as i64;
    rng.pick(&[
        0,
        1,
        -1,
        2,
        50,
        1000,
        1001,
        i64::from(i32::MAX),
        i64::from(i32::MIN),
        i64::MAX,
        i64::MIN,
        random,
    ])
}

/// One value of `kind`; `None` for a message nested too deep.
fn value(rng: &mut SplitMix, kind: &Kind, depth: u32) -> Option<Value> {
    Some(match kind {
        Kind::Bool => Value::Bool(rng.below(2) == 1),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(integer(rng) as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(integer(rng)),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(integer(rng) as u32),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(integer(rng) as u64),
        Kind::Float => Value::F32(rng.pick(&[0.0, -1.0, f32::NAN, f32::INFINITY, 36.5])),
        Kind::Double => Value::F64(rng.pick(&[0.0, -91.0, 181.0, f64::NAN, 35.95, 39.01])),
        Kind::String => Value::String(string(rng)),
        Kind::Bytes => Value::Bytes(Bytes::from(string(rng).into_bytes())),
        Kind::Enum(enumeration) => {
            let known: Vec<i32> = enumeration.values().map(|v| v.number()).collect();
            Value::EnumNumber(if rng.below(5) == 0 {
                rng.next() as i32
            } else {
                rng.pick(&known)
            })
        }
        Kind::Message(descriptor) => {
            if depth > 5 {
                return None;
            }
            Value::Message(message(rng, descriptor, depth + 1))
        }
    })
}

/// A message of type `descriptor` with about two thirds of its fields set to awkward values.
fn message(rng: &mut SplitMix, descriptor: &MessageDescriptor, depth: u32) -> DynamicMessage {
    let mut message = DynamicMessage::new(descriptor.clone());
    for field in descriptor.fields() {
        if field.is_map() || rng.below(10) < 3 {
            continue;
        }
        let kind = field.kind();
        let field_value = if field.is_list() {
            // Now and then a list past every repeated-field limit.
            let len = match rng.below(12) {
                0 => 1001,
                n => n / 3,
            };
            Value::List(
                (0..len)
                    .filter_map(|_| value(rng, &kind, depth + 1))
                    .collect(),
            )
        } else {
            match value(rng, &kind, depth) {
                Some(field_value) => field_value,
                None => continue,
            }
        };
        message.set_field(&field, field_value);
    }
    message
}

/// Runs `property` over `strategy`, and prints how many cases ran, how long they took, and the
/// codes they got.
fn fuzz<S: Strategy>(
    name: &str,
    strategy: S,
    property: impl Fn(S::Value) -> Result<Code, TestCaseError>,
) {
    let cases = cases();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |input| property(input).map(|_code| ()))
        .unwrap_or_else(|failure| panic!("{name}: {failure}"));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn descriptor_pool() -> DescriptorPool {
    DescriptorPool::decode(civcas_proto::FILE_DESCRIPTOR_SET).unwrap()
}

#[test]
fn arbitrary_bytes_on_every_method_never_panic() {
    let runtime = runtime();
    let api = Api::new();
    let methods = methods(&descriptor_pool());
    assert_eq!(methods.len(), 19);
    let strategy = (0..methods.len(), prop::collection::vec(any::<u8>(), 0..300));
    fuzz("arbitrary bytes", strategy, |(method, bytes)| {
        let path = &methods[method].0;
        let status = runtime.block_on(api.call(path, &bytes));
        check(path, &status)
    });
}

#[test]
fn structurally_valid_messages_of_every_request_type_never_panic() {
    let runtime = runtime();
    let api = Api::new();
    let methods = methods(&descriptor_pool());
    fuzz(
        "structurally valid messages",
        (0..methods.len(), any::<u64>()),
        |(method, seed)| {
            let (path, input) = &methods[method];
            let request = message(&mut SplitMix(seed), input, 0).encode_to_vec();
            let status = runtime.block_on(api.call(path, &request));
            check(path, &status)
        },
    );
}

#[test]
fn a_valid_request_reaches_the_refusing_storage_and_garbage_is_malformed() {
    // Without this, a harness that rejected everything would pass the properties above.
    let runtime = runtime();
    let api = Api::new();
    let request = civcas_proto::v1::GetSourceRequest {
        source_id: "airwars".into(),
    };
    let path = "/civcas.v1.SourceService/GetSource";
    let status = runtime.block_on(api.call(path, &request.encode_to_vec()));
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let status = runtime.block_on(api.call(path, &[0xff, 0xff]));
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(
        status.get_error_details().error_info().unwrap().reason,
        "MALFORMED_MESSAGE"
    );
}
