use std::sync::Arc;

use civcas_domain::repository::{AssessmentFilter, AssessmentRepository, ImportContent, ImportRow};
use civcas_domain::{
    AllValid, AtField, IncidentId, NewAssessment, RepositoryError, SourceId, Violations,
};
use civcas_proto::v1 as pb;
use civcas_proto::v1::assessment_service_server::AssessmentService;
use tonic::{Request, Response, Status, Streaming};

use crate::errors::{from_repository, invalid};
use crate::metrics::Metrics;
use crate::requests::{idempotency_key, next_page_token, page_request};

/// The most rows one import batch may carry.
const MAX_BATCH_ROWS: usize = 10_000;

/// How many rejections an import's response lists; the rest are counted.
const LISTED_REJECTIONS: usize = 100;

fn rejection(index: u64, error: &RepositoryError) -> pb::ImportRejection {
    let not_found;
    let (reason, violations) = match error {
        RepositoryError::Invalid(violations) => {
            ("invalid row".to_owned(), violations.iter().collect())
        }
        // The field is known: name it, as INVALID_ARGUMENT would.
        RepositoryError::NotFound { field, .. } => {
            not_found = civcas_domain::FieldViolation {
                field: field.clone(),
                description: error.to_string(),
            };
            (error.to_string(), vec![&not_found])
        }
        other => (other.to_string(), Vec::new()),
    };
    pb::ImportRejection {
        index,
        reason,
        field_violations: violations
            .into_iter()
            .map(|v| pb::FieldViolation {
                field: v.field.clone(),
                description: v.description.clone(),
            })
            .collect(),
    }
}

/// One import message, converted: the rows to write, and those refused before any was written.
struct ReadBatch {
    rows: Vec<ImportRow>,
    rejected: Vec<pb::ImportRejection>,
}

/// Receives and converts the next message of an import; `None` at the end of the stream.
async fn read_batch(
    batches: &mut Streaming<pb::ImportAssessmentsRequest>,
) -> Result<Option<ReadBatch>, Status> {
    let Some(batch) = batches.message().await? else {
        return Ok(None);
    };
    if batch.rows.len() > MAX_BATCH_ROWS {
        return Err(invalid(Violations::one(
            "rows",
            format!(
                "a batch holds at most {MAX_BATCH_ROWS} rows, got {}: send more, smaller messages",
                batch.rows.len()
            ),
        )));
    }
    let mut read = ReadBatch {
        rows: Vec::with_capacity(batch.rows.len()),
        rejected: Vec::new(),
    };
    for row in batch.rows {
        let index = row.index;
        match ImportContent::try_from(row) {
            Ok(content) => read.rows.push(ImportRow { index, content }),
            Err(violations) => read
                .rejected
                .push(rejection(index, &RepositoryError::Invalid(violations))),
        }
    }
    Ok(Some(read))
}

#[derive(Debug)]
pub struct AssessmentApi<R> {
    repository: Arc<R>,
    metrics: Arc<Metrics>,
}

impl<R> AssessmentApi<R> {
    pub fn new(repository: Arc<R>, metrics: Arc<Metrics>) -> Self {
        Self {
            repository,
            metrics,
        }
    }
}

#[tonic::async_trait]
impl<R: AssessmentRepository> AssessmentService for AssessmentApi<R> {
    async fn record_assessment(
        &self,
        request: Request<pb::RecordAssessmentRequest>,
    ) -> Result<Response<pb::RecordAssessmentResponse>, Status> {
        let mut payload = request.into_inner();
        let request_id = std::mem::take(&mut payload.request_id);
        let key = idempotency_key("RecordAssessment", request_id, &payload);
        let assessment = NewAssessment::try_from(payload);
        let (key, assessment) = (key, assessment).all_valid().map_err(invalid)?;
        let recorded = self
            .repository
            .record_assessment(assessment, key)
            .await
            .map_err(from_repository)?;
        let outcome = if recorded.created {
            civcas_domain::WriteOutcome::Created
        } else {
            civcas_domain::WriteOutcome::Unchanged
        };
        Ok(Response::new(pb::RecordAssessmentResponse {
            assessment: Some(recorded.assessment.into()),
            outcome: pb::WriteOutcome::from(outcome).into(),
            incident_created: recorded.incident_created,
        }))
    }

    async fn import_assessments(
        &self,
        request: Request<Streaming<pb::ImportAssessmentsRequest>>,
    ) -> Result<Response<pb::ImportAssessmentsResponse>, Status> {
        let mut batches = request.into_inner();
        let mut summary = pb::ImportAssessmentsResponse::default();
        // Each message is written whole, in order: an interrupted import leaves only whole batches,
        // and a re-run finds the written ones unchanged. The next message is received and checked
        // while one is written, so that the database does not wait on the network or on conversion.
        let mut next = read_batch(&mut batches).await?;
        while let Some(ReadBatch { rows, mut rejected }) = next {
            let (written, following) = tokio::join!(
                self.repository.import_assessments(rows),
                read_batch(&mut batches)
            );
            let written = written.map_err(from_repository)?;
            rejected.extend(
                written
                    .rejected
                    .iter()
                    .map(|(index, error)| rejection(*index, error)),
            );
            rejected.sort_by_key(|r| r.index);
            self.metrics
                .import_batch(written.created, written.unchanged, rejected.len() as u64);
            summary.created += written.created;
            summary.unchanged += written.unchanged;
            summary.incidents_created += written.incidents_created;
            summary.incident_rows += written.incident_rows;
            summary.batches += 1;
            summary.rejected += rejected.len() as u64;
            let room = LISTED_REJECTIONS.saturating_sub(summary.rejections.len());
            summary.rejections.extend(rejected.into_iter().take(room));
            next = following?;
        }
        Ok(Response::new(summary))
    }

    async fn list_assessments(
        &self,
        request: Request<pb::ListAssessmentsRequest>,
    ) -> Result<Response<pb::ListAssessmentsResponse>, Status> {
        let mut filters = request.into_inner();
        let (page_size, page_token) = (
            filters.page_size.take(),
            std::mem::take(&mut filters.page_token),
        );
        let pb::ListAssessmentsRequest {
            source_id,
            incident_id,
            include_superseded,
            page_size: _,
            page_token: _,
        } = &filters;
        let (page, source_id, incident_id) = (
            page_request("ListAssessments", page_size, &page_token, &filters),
            (!source_id.is_empty())
                .then(|| SourceId::parse(source_id).at("source_id"))
                .transpose(),
            (!incident_id.is_empty())
                .then(|| IncidentId::parse(incident_id).at("incident_id"))
                .transpose(),
        )
            .all_valid()
            .map_err(invalid)?;
        let filter = AssessmentFilter {
            source_id,
            incident_id,
            include_superseded: *include_superseded,
        };
        let page = self
            .repository
            .list_assessments(filter, page)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(pb::ListAssessmentsResponse {
            assessments: page.items.into_iter().map(Into::into).collect(),
            next_page_token: next_page_token("ListAssessments", page.next, &filters),
        }))
    }
}
