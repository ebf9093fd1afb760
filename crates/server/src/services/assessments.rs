use std::sync::Arc;

use civcas_domain::AllValid;
use civcas_domain::repository::{AssessmentFilter, AssessmentRepository};
use civcas_proto::v1 as pb;
use civcas_proto::v1::assessment_service_server::AssessmentService;
use tonic::{Request, Response, Status};

use crate::convert::{self, IntoProto};
use crate::errors::{from_repository, invalid};
use crate::requests::{idempotency_key, next_page_token, page_request};

#[derive(Debug)]
pub struct AssessmentApi<R> {
    repository: Arc<R>,
}

impl<R> AssessmentApi<R> {
    pub fn new(repository: Arc<R>) -> Self {
        Self { repository }
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
        let pb::RecordAssessmentRequest {
            assessment,
            incident,
            request_id: _,
        } = payload;
        let assessment = convert::new_assessment(assessment, incident, super::today());
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
            assessment: Some(recorded.assessment.into_proto()),
            outcome: convert::outcome(outcome),
            incident_created: recorded.incident_created,
        }))
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
                .then(|| convert::source_id("source_id", source_id))
                .transpose(),
            (!incident_id.is_empty())
                .then(|| convert::incident_id("incident_id", incident_id))
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
            assessments: page.items.into_iter().map(IntoProto::into_proto).collect(),
            next_page_token: next_page_token("ListAssessments", page.next, &filters),
        }))
    }
}
