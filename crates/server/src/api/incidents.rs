use std::sync::Arc;

use civcas_domain::dates::parse_optional_date;
use civcas_domain::repository::{IncidentFilter, IncidentRepository};
use civcas_domain::validation::each;
use civcas_domain::{
    AllValid, AtField, CountryCode, IncidentId, IncidentPair, NewIncident, SourceId, Violations,
};
use civcas_proto::v1 as pb;
use civcas_proto::v1::incident_service_server::IncidentService;
use tonic::{Request, Response, Status};

use crate::errors::{from_repository, invalid};
use crate::requests::{idempotency_key, next_page_token, page_request};

#[derive(Debug)]
pub struct IncidentApi<R> {
    repository: Arc<R>,
}

impl<R> IncidentApi<R> {
    pub fn new(repository: Arc<R>) -> Self {
        Self { repository }
    }
}

/// The two incidents of a Link or Unlink request.
fn pair(incident_id: &str, linked_incident_id: &str) -> Result<IncidentPair, Violations> {
    let (a, b) = (
        IncidentId::parse(incident_id).at("incident_id"),
        IncidentId::parse(linked_incident_id).at("linked_incident_id"),
    )
        .all_valid()?;
    IncidentPair::new(a, b).at("linked_incident_id")
}

#[tonic::async_trait]
impl<R: IncidentRepository> IncidentService for IncidentApi<R> {
    async fn record_incident(
        &self,
        request: Request<pb::RecordIncidentRequest>,
    ) -> Result<Response<pb::RecordIncidentResponse>, Status> {
        let mut payload = request.into_inner();
        let request_id = std::mem::take(&mut payload.request_id);
        let key = idempotency_key("RecordIncident", request_id, &payload);
        let incident = NewIncident::try_from(payload);
        let (key, incident) = (key, incident).all_valid().map_err(invalid)?;
        let written = self
            .repository
            .record_incident(incident, key)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(pb::RecordIncidentResponse {
            incident: Some(written.value.into()),
            outcome: pb::WriteOutcome::from(written.outcome).into(),
        }))
    }

    async fn get_incident(
        &self,
        request: Request<pb::GetIncidentRequest>,
    ) -> Result<Response<pb::GetIncidentResponse>, Status> {
        let pb::GetIncidentRequest { incident_id } = request.into_inner();
        let id = IncidentId::parse(&incident_id)
            .at("incident_id")
            .map_err(invalid)?;
        let incident = self
            .repository
            .get_incident(id)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(pb::GetIncidentResponse {
            incident: Some(incident.into()),
        }))
    }

    async fn list_incidents(
        &self,
        request: Request<pb::ListIncidentsRequest>,
    ) -> Result<Response<pb::ListIncidentsResponse>, Status> {
        let mut filters = request.into_inner();
        let (page_size, page_token) = (
            filters.page_size.take(),
            std::mem::take(&mut filters.page_token),
        );
        let pb::ListIncidentsRequest {
            occurred_from,
            occurred_to,
            countries,
            source_id,
            page_size: _,
            page_token: _,
        } = &filters;
        let source = (!source_id.is_empty())
            .then(|| SourceId::parse(source_id).at("source_id"))
            .transpose();
        let (page, occurred_from, occurred_to, countries, source_id) = (
            page_request("ListIncidents", page_size, &page_token, &filters),
            parse_optional_date(occurred_from).at("occurred_from"),
            parse_optional_date(occurred_to).at("occurred_to"),
            each("countries", countries, |c, field| {
                CountryCode::parse(c).at(field)
            }),
            source,
        )
            .all_valid()
            .map_err(invalid)?;
        if let (Some(from), Some(to)) = (occurred_from, occurred_to)
            && to < from
        {
            return Err(invalid(Violations::one(
                "occurred_to",
                format!("must not be before occurred_from ({from}), got {to}"),
            )));
        }
        let filter = IncidentFilter {
            occurred_from,
            occurred_to,
            countries,
            source_id,
        };
        let page = self
            .repository
            .list_incidents(filter, page)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(pb::ListIncidentsResponse {
            incidents: page.items.into_iter().map(Into::into).collect(),
            next_page_token: next_page_token("ListIncidents", page.next, &filters),
        }))
    }

    async fn link_incidents(
        &self,
        request: Request<pb::LinkIncidentsRequest>,
    ) -> Result<Response<pb::LinkIncidentsResponse>, Status> {
        let mut payload = request.into_inner();
        let request_id = std::mem::take(&mut payload.request_id);
        let key = idempotency_key("LinkIncidents", request_id, &payload);
        let pair = pair(&payload.incident_id, &payload.linked_incident_id);
        let (key, pair) = (key, pair).all_valid().map_err(invalid)?;
        let written = self
            .repository
            .link_incidents(pair, key)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(pb::LinkIncidentsResponse {
            link: Some(written.value.into()),
            outcome: pb::WriteOutcome::from(written.outcome).into(),
        }))
    }

    async fn unlink_incidents(
        &self,
        request: Request<pb::UnlinkIncidentsRequest>,
    ) -> Result<Response<pb::UnlinkIncidentsResponse>, Status> {
        let mut payload = request.into_inner();
        let request_id = std::mem::take(&mut payload.request_id);
        let key = idempotency_key("UnlinkIncidents", request_id, &payload);
        let pair = pair(&payload.incident_id, &payload.linked_incident_id);
        let (key, pair) = (key, pair).all_valid().map_err(invalid)?;
        let removed = self
            .repository
            .unlink_incidents(pair, key)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(pb::UnlinkIncidentsResponse { removed }))
    }
}
