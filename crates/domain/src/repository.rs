//! The ports through which the service reads and writes its records. The persistence crate implements
//! them on PostgreSQL; the server calls them with values the domain has already validated.
//!
//! Every write takes an optional [`IdempotencyKey`]. The store keeps the key and the write's result in
//! the write's own transaction, so a retry gets the first result back, even after a crash between the
//! commit and the reply.

use std::future::Future;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::assessment::{AssessedIncident, Assessment, NewAssessment, RecordedAssessment};
use crate::country::CountryCode;
use crate::dates::DateInterval;
use crate::ids::{IncidentId, StatementId};
use crate::incident::{Incident, IncidentLink, IncidentPair, NewIncident};
use crate::paging::{Page, PageRequest};
use crate::reconcile::flow::AssessmentFlow;
use crate::reconcile::{FigureQuery, ReconciledFigures};
use crate::slug::SourceId;
use crate::source::{NewSource, Source, SourceUpdate};
use crate::statement::{Measure, NewStatement, Revision, Statement};
use crate::validation::Violations;

/// A client's `request_id` and a fingerprint of the payload it came with. The same id with another
/// fingerprint is a client bug, reported as [`RepositoryError::RequestIdReused`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub request_id: String,
    pub fingerprint: String,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteOutcome {
    Created,
    Updated,
    Unchanged,
}

/// A write's result: the record as stored, and what the write did to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Written<T> {
    pub value: T,
    pub outcome: WriteOutcome,
}

/// The kinds of record a NOT_FOUND can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Source,
    Incident,
    Statement,
}

impl Resource {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Incident => "incident",
            Self::Statement => "statement",
        }
    }
}

/// Why a repository call failed, in terms a client can act on. Storage detail stays inside the
/// persistence crate: `Unavailable` and `Internal` carry text for logs, never for clients.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The input breaks a rule only the store can check, e.g. a duplicate pointing at itself once its
    /// inline incident is resolved.
    #[error(transparent)]
    Invalid(#[from] Violations),
    /// `field` named a record that does not exist.
    #[error("{} {id} not found (field {field})", resource.as_str())]
    NotFound {
        resource: Resource,
        id: String,
        field: String,
    },
    /// A record with this identity exists with other attributes.
    #[error("{message}")]
    AlreadyExists {
        reason: &'static str,
        message: String,
    },
    /// The request cannot apply to the stored state, e.g. references naming two incidents.
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
    },
    /// The request id was used before with a different payload.
    #[error("request_id {0:?} was already used with a different payload")]
    RequestIdReused(String),
    /// The database cannot be reached or is shutting down; retrying later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or a broken invariant. Logged in full, reported generically.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type RepositoryResult<T> = Result<T, RepositoryError>;

/// Filters of ListIncidents; each is optional and they are ANDed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentFilter {
    /// Incidents whose dates overlap `[occurred_from, occurred_to]`; either end may be open.
    pub occurred_from: Option<NaiveDate>,
    pub occurred_to: Option<NaiveDate>,
    pub countries: Vec<CountryCode>,
    pub source_id: Option<SourceId>,
}

/// Filters of ListAssessments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssessmentFilter {
    pub source_id: Option<SourceId>,
    pub incident_id: Option<IncidentId>,
    pub include_superseded: bool,
}

/// Filters of ListStatements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementFilter {
    pub source_id: Option<SourceId>,
    pub measure: Option<Measure>,
}

pub trait SourceRepository: Send + Sync + 'static {
    fn register_source(
        &self,
        source: NewSource,
        key: Option<IdempotencyKey>,
    ) -> impl Future<Output = RepositoryResult<Written<Source>>> + Send;

    fn get_source(&self, id: &SourceId) -> impl Future<Output = RepositoryResult<Source>> + Send;

    fn list_sources(
        &self,
        page: PageRequest,
    ) -> impl Future<Output = RepositoryResult<Page<Source>>> + Send;

    fn update_source(
        &self,
        update: SourceUpdate,
        key: Option<IdempotencyKey>,
    ) -> impl Future<Output = RepositoryResult<Written<Source>>> + Send;
}

pub trait IncidentRepository: Send + Sync + 'static {
    fn record_incident(
        &self,
        incident: NewIncident,
        key: Option<IdempotencyKey>,
    ) -> impl Future<Output = RepositoryResult<Written<Incident>>> + Send;

    fn get_incident(
        &self,
        id: IncidentId,
    ) -> impl Future<Output = RepositoryResult<Incident>> + Send;

    fn list_incidents(
        &self,
        filter: IncidentFilter,
        page: PageRequest,
    ) -> impl Future<Output = RepositoryResult<Page<Incident>>> + Send;

    fn link_incidents(
        &self,
        pair: IncidentPair,
        key: Option<IdempotencyKey>,
    ) -> impl Future<Output = RepositoryResult<Written<IncidentLink>>> + Send;

    /// Removes an explicit link; `false` when there was none.
    fn unlink_incidents(
        &self,
        pair: IncidentPair,
        key: Option<IdempotencyKey>,
    ) -> impl Future<Output = RepositoryResult<bool>> + Send;
}

pub trait AssessmentRepository: Send + Sync + 'static {
    fn record_assessment(
        &self,
        assessment: NewAssessment,
        key: Option<IdempotencyKey>,
    ) -> impl Future<Output = RepositoryResult<RecordedAssessment>> + Send;

    fn list_assessments(
        &self,
        filter: AssessmentFilter,
        page: PageRequest,
    ) -> impl Future<Output = RepositoryResult<Page<Assessment>>> + Send;

    /// Writes one batch in one transaction, with a few set-wise statements rather than a round trip
    /// per row. Rows that break a rule only the store can check (an unknown source or incident,
    /// references naming two incidents) are refused and the rest written; a row repeating what is
    /// stored adds nothing, so importing the same rows twice changes nothing.
    fn import_assessments(
        &self,
        rows: Vec<ImportRow>,
    ) -> impl Future<Output = RepositoryResult<ImportedBatch>> + Send;
}

/// One validated row of a bulk import, with its place in the client's input.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    pub index: u64,
    pub content: ImportContent,
}

/// What a row imports: an assessment (with its incident), or an incident no source has assessed yet.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportContent {
    Assessment(NewAssessment),
    /// Found by its references, created when new, never overwritten.
    Incident(NewIncident),
}

/// The incident a row is about, however it names it.
#[derive(Debug, Clone, Copy)]
pub enum RowIncident<'a> {
    Stored(IncidentId),
    Inline(&'a NewIncident),
}

impl ImportRow {
    pub fn incident(&self) -> RowIncident<'_> {
        match &self.content {
            ImportContent::Assessment(a) => match &a.incident {
                AssessedIncident::Stored(id) => RowIncident::Stored(*id),
                AssessedIncident::Inline(incident) => RowIncident::Inline(incident),
            },
            ImportContent::Incident(incident) => RowIncident::Inline(incident),
        }
    }

    pub fn assessment(&self) -> Option<&NewAssessment> {
        match &self.content {
            ImportContent::Assessment(a) => Some(a),
            ImportContent::Incident(_) => None,
        }
    }
}

/// What writing one batch of an import did.
#[derive(Debug, Default)]
pub struct ImportedBatch {
    pub created: u64,
    pub unchanged: u64,
    pub incidents_created: u64,
    /// Rows that carried an incident alone, found or created.
    pub incident_rows: u64,
    /// Rows refused, by index, in input order; the rest of the batch is written.
    pub rejected: Vec<(u64, RepositoryError)>,
}

pub trait StatementRepository: Send + Sync + 'static {
    fn record_statement(
        &self,
        statement: NewStatement,
        key: Option<IdempotencyKey>,
    ) -> impl Future<Output = RepositoryResult<Written<Statement>>> + Send;

    fn list_statements(
        &self,
        filter: StatementFilter,
        page: PageRequest,
    ) -> impl Future<Output = RepositoryResult<Page<Statement>>> + Send;

    /// The whole chain of the given statement, oldest first, with each step's delta.
    fn statement_revisions(
        &self,
        id: StatementId,
    ) -> impl Future<Output = RepositoryResult<Vec<Revision>>> + Send;
}

/// Reconciled figures (docs/rules.md), computed by the store exactly as
/// [`crate::reconcile`] computes them.
pub trait FigureRepository: Send + Sync + 'static {
    /// Rules 2 to 6 over one window.
    fn reconciled_figures(
        &self,
        query: FigureQuery,
    ) -> impl Future<Output = RepositoryResult<ReconciledFigures>> + Send;

    /// Rules 2 to 6 for each of `buckets`, all from one snapshot of the data (rule 8).
    fn figure_series(
        &self,
        query: FigureQuery,
        buckets: Vec<DateInterval>,
    ) -> impl Future<Output = RepositoryResult<Vec<ReconciledFigures>>> + Send;

    /// Rule 7 for one source over one window.
    fn assessment_flow(
        &self,
        source: SourceId,
        window: DateInterval,
    ) -> impl Future<Output = RepositoryResult<AssessmentFlow>> + Send;

    /// The registered sources' ids, ordered: the selection when a query names none.
    fn source_ids(&self) -> impl Future<Output = RepositoryResult<Vec<SourceId>>> + Send;
}
