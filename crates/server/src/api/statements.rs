use std::sync::Arc;

use civcas_domain::repository::{StatementFilter, StatementRepository};
use civcas_domain::{AllValid, AtField, Measure, NewStatement, SourceId, StatementId, Violations};
use civcas_proto::v1 as pb;
use civcas_proto::v1::statement_service_server::StatementService;
use tonic::{Request, Response, Status};

use crate::errors::{from_repository, invalid};
use crate::requests::{idempotency_key, next_page_token, page_request};

#[derive(Debug)]
pub struct StatementApi<R> {
    repository: Arc<R>,
}

impl<R> StatementApi<R> {
    pub fn new(repository: Arc<R>) -> Self {
        Self { repository }
    }
}

#[tonic::async_trait]
impl<R: StatementRepository> StatementService for StatementApi<R> {
    async fn record_statement(
        &self,
        request: Request<pb::RecordStatementRequest>,
    ) -> Result<Response<pb::RecordStatementResponse>, Status> {
        let mut payload = request.into_inner();
        let request_id = std::mem::take(&mut payload.request_id);
        let key = idempotency_key("RecordStatement", request_id, &payload);
        let statement = NewStatement::try_from(payload);
        let (key, statement) = (key, statement).all_valid().map_err(invalid)?;
        let written = self
            .repository
            .record_statement(statement, key)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(pb::RecordStatementResponse {
            statement: Some(written.value.into()),
            outcome: pb::WriteOutcome::from(written.outcome).into(),
        }))
    }

    async fn list_statements(
        &self,
        request: Request<pb::ListStatementsRequest>,
    ) -> Result<Response<pb::ListStatementsResponse>, Status> {
        let mut filters = request.into_inner();
        let (page_size, page_token) = (
            filters.page_size.take(),
            std::mem::take(&mut filters.page_token),
        );
        let pb::ListStatementsRequest {
            source_id,
            measure,
            page_size: _,
            page_token: _,
        } = &filters;
        let measure = match pb::Measure::try_from(*measure) {
            Ok(pb::Measure::Unspecified) => Ok(None),
            Ok(known) => Ok(Measure::try_from(known).ok()),
            Err(_) => Err(Violations::one(
                "measure",
                format!("must be a Measure, got {measure}"),
            )),
        };
        let (page, source_id, measure) = (
            page_request("ListStatements", page_size, &page_token, &filters),
            (!source_id.is_empty())
                .then(|| SourceId::parse(source_id).at("source_id"))
                .transpose(),
            measure,
        )
            .all_valid()
            .map_err(invalid)?;
        let page = self
            .repository
            .list_statements(StatementFilter { source_id, measure }, page)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(pb::ListStatementsResponse {
            statements: page.items.into_iter().map(Into::into).collect(),
            next_page_token: next_page_token("ListStatements", page.next, &filters),
        }))
    }

    async fn get_statement_revisions(
        &self,
        request: Request<pb::GetStatementRevisionsRequest>,
    ) -> Result<Response<pb::GetStatementRevisionsResponse>, Status> {
        let pb::GetStatementRevisionsRequest { statement_id } = request.into_inner();
        let id = StatementId::parse(&statement_id)
            .at("statement_id")
            .map_err(invalid)?;
        let revisions = self
            .repository
            .statement_revisions(id)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(pb::GetStatementRevisionsResponse {
            revisions: revisions.into_iter().map(Into::into).collect(),
        }))
    }
}
