use std::sync::Arc;

use civcas_domain::repository::SourceRepository;
use civcas_domain::{AllValid, AtField, NewSource, SourceId, SourceUpdate};
use civcas_proto::v1 as pb;
use civcas_proto::v1::source_service_server::SourceService;
use tonic::{Request, Response, Status};

use crate::errors::{from_repository, invalid};
use crate::requests::{idempotency_key, next_page_token, page_request};

#[derive(Debug)]
pub struct SourceApi<R> {
    repository: Arc<R>,
}

impl<R> SourceApi<R> {
    pub fn new(repository: Arc<R>) -> Self {
        Self { repository }
    }
}

#[tonic::async_trait]
impl<R: SourceRepository> SourceService for SourceApi<R> {
    async fn register_source(
        &self,
        request: Request<pb::RegisterSourceRequest>,
    ) -> Result<Response<pb::RegisterSourceResponse>, Status> {
        let mut payload = request.into_inner();
        let request_id = std::mem::take(&mut payload.request_id);
        let key = idempotency_key("RegisterSource", request_id, &payload);
        let (key, source) = (key, NewSource::try_from(payload))
            .all_valid()
            .map_err(invalid)?;
        let written = self
            .repository
            .register_source(source, key)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(pb::RegisterSourceResponse {
            source: Some(written.value.into()),
            outcome: pb::WriteOutcome::from(written.outcome).into(),
        }))
    }

    async fn get_source(
        &self,
        request: Request<pb::GetSourceRequest>,
    ) -> Result<Response<pb::GetSourceResponse>, Status> {
        let pb::GetSourceRequest { source_id } = request.into_inner();
        let id = SourceId::parse(&source_id)
            .at("source_id")
            .map_err(invalid)?;
        let source = self
            .repository
            .get_source(&id)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(pb::GetSourceResponse {
            source: Some(source.into()),
        }))
    }

    async fn list_sources(
        &self,
        request: Request<pb::ListSourcesRequest>,
    ) -> Result<Response<pb::ListSourcesResponse>, Status> {
        let mut filters = request.into_inner();
        let (page_size, page_token) = (
            filters.page_size.take(),
            std::mem::take(&mut filters.page_token),
        );
        let page =
            page_request("ListSources", page_size, &page_token, &filters).map_err(invalid)?;
        let page = self
            .repository
            .list_sources(page)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(pb::ListSourcesResponse {
            sources: page.items.into_iter().map(Into::into).collect(),
            next_page_token: next_page_token("ListSources", page.next, &filters),
        }))
    }

    async fn update_source(
        &self,
        request: Request<pb::UpdateSourceRequest>,
    ) -> Result<Response<pb::UpdateSourceResponse>, Status> {
        let mut payload = request.into_inner();
        let request_id = std::mem::take(&mut payload.request_id);
        let key = idempotency_key("UpdateSource", request_id, &payload);
        let (key, update) = (key, SourceUpdate::try_from(payload))
            .all_valid()
            .map_err(invalid)?;
        let written = self
            .repository
            .update_source(update, key)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(pb::UpdateSourceResponse {
            source: Some(written.value.into()),
            outcome: pb::WriteOutcome::from(written.outcome).into(),
        }))
    }
}
