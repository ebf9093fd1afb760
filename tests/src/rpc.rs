//! One [`TestApp`] method per RPC, so that a test reads as what it asks. Each takes the request
//! (or, for a write, the record alone: see [`IntoRpcRequest`]) and returns the response message or the
//! status. Tests that need metadata, such as a bearer token, use the clients themselves.

use civcas_proto::v1 as pb;
use tonic::{Response, Status, Streaming};

use crate::TestApp;

/// What an RPC method takes: its request, or, for a write, the record the request carries (with no
/// request id and no inline incident).
pub trait IntoRpcRequest<R> {
    fn into_request(self) -> R;
}

impl<R: prost::Message> IntoRpcRequest<R> for R {
    fn into_request(self) -> R {
        self
    }
}

macro_rules! write_requests {
    ($($record:ident => $request:ident { $field:ident $(, $other:ident)* }),+ $(,)?) => {$(
        impl IntoRpcRequest<pb::$request> for pb::$record {
            fn into_request(self) -> pb::$request {
                pb::$request {
                    $field: Some(self),
                    $($other: Default::default(),)*
                    request_id: String::new(),
                }
            }
        }
    )+};
}

write_requests! {
    Source => RegisterSourceRequest { source },
    Incident => RecordIncidentRequest { incident },
    Assessment => RecordAssessmentRequest { assessment, incident },
    Statement => RecordStatementRequest { statement },
}

macro_rules! unary_rpcs {
    ($($client:ident . $method:ident ( $request:ident ) -> $response:ident;)+) => {
        impl TestApp {$(
            pub async fn $method(
                &self,
                request: impl IntoRpcRequest<pb::$request>,
            ) -> Result<pb::$response, Status> {
                self.$client()
                    .$method(request.into_request())
                    .await
                    .map(Response::into_inner)
            }
        )+}
    };
}

unary_rpcs! {
    sources.register_source(RegisterSourceRequest) -> RegisterSourceResponse;
    sources.get_source(GetSourceRequest) -> GetSourceResponse;
    sources.list_sources(ListSourcesRequest) -> ListSourcesResponse;
    sources.update_source(UpdateSourceRequest) -> UpdateSourceResponse;
    incidents.record_incident(RecordIncidentRequest) -> RecordIncidentResponse;
    incidents.get_incident(GetIncidentRequest) -> GetIncidentResponse;
    incidents.list_incidents(ListIncidentsRequest) -> ListIncidentsResponse;
    incidents.link_incidents(LinkIncidentsRequest) -> LinkIncidentsResponse;
    incidents.unlink_incidents(UnlinkIncidentsRequest) -> UnlinkIncidentsResponse;
    assessments.record_assessment(RecordAssessmentRequest) -> RecordAssessmentResponse;
    assessments.list_assessments(ListAssessmentsRequest) -> ListAssessmentsResponse;
    statements.record_statement(RecordStatementRequest) -> RecordStatementResponse;
    statements.list_statements(ListStatementsRequest) -> ListStatementsResponse;
    statements.get_statement_revisions(GetStatementRevisionsRequest) -> GetStatementRevisionsResponse;
    figures.get_reconciled_figures(GetReconciledFiguresRequest) -> GetReconciledFiguresResponse;
    figures.get_figure_series(GetFigureSeriesRequest) -> GetFigureSeriesResponse;
    figures.get_assessment_flow(GetAssessmentFlowRequest) -> GetAssessmentFlowResponse;
}

impl TestApp {
    /// ImportAssessments with `batches`, one message each.
    pub async fn import_assessments(
        &self,
        batches: Vec<pb::ImportAssessmentsRequest>,
    ) -> Result<pb::ImportAssessmentsResponse, Status> {
        self.assessments()
            .import_assessments(tokio_stream::iter(batches))
            .await
            .map(Response::into_inner)
    }

    pub async fn watch_figures(
        &self,
        request: pb::WatchFiguresRequest,
    ) -> Result<Streaming<pb::WatchFiguresResponse>, Status> {
        self.figures()
            .watch_figures(request)
            .await
            .map(Response::into_inner)
    }

    /// The figures GetReconciledFigures answers for `request`.
    pub async fn reconciled(
        &self,
        request: pb::GetReconciledFiguresRequest,
    ) -> Result<pb::ReconciledFigures, Status> {
        let response = self.get_reconciled_figures(request).await?;
        Ok(response.figures.expect("an answer carries its figures"))
    }
}
