use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use civcas_domain::reconcile::FigureQuery;
use civcas_domain::reconcile::flow::FlowQuery;
use civcas_domain::reconcile::series::{SeriesQuery, buckets};
use civcas_domain::repository::{FigureRepository, Resource};
use civcas_domain::{RepositoryError, Violations};
use civcas_persistence::changes::Changes;
use civcas_proto::v1 as pb;
use civcas_proto::v1::figure_service_server::FigureService;
use futures::Stream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::errors::{from_repository, invalid, shutting_down};

/// The most buckets one GetFigureSeries call computes.
const MAX_BUCKETS: usize = 1000;

/// A watch sends figures at most this often, however often writes come.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct FigureApi<R> {
    repository: Arc<R>,
    /// Moves on every committed write, through any replica; closes at shutdown.
    changes: Changes,
}

impl<R> FigureApi<R> {
    pub fn new(repository: Arc<R>, changes: Changes) -> Self {
        Self {
            repository,
            changes,
        }
    }
}

impl<R: FigureRepository> FigureApi<R> {
    /// Fails with NOT_FOUND on the first filtered source that is not registered: a typo would
    /// otherwise read as a source with nothing to say.
    async fn check_sources(&self, query: &FigureQuery) -> Result<(), Status> {
        if query.filters.sources.is_empty() {
            return Ok(());
        }
        let registered = self
            .repository
            .source_ids()
            .await
            .map_err(from_repository)?;
        match query
            .filters
            .sources
            .iter()
            .find(|s| !registered.contains(s))
        {
            None => Ok(()),
            Some(unknown) => Err(from_repository(RepositoryError::NotFound {
                resource: Resource::Source,
                id: unknown.to_string(),
                field: "filters.sources".to_owned(),
            })),
        }
    }

    async fn figures(&self, query: FigureQuery) -> Result<pb::ReconciledFigures, Status> {
        figures(&*self.repository, query).await
    }
}

async fn figures<R: FigureRepository>(
    repository: &R,
    query: FigureQuery,
) -> Result<pb::ReconciledFigures, Status> {
    let window = query.window;
    let figures = repository
        .reconciled_figures(query)
        .await
        .map_err(from_repository)?;
    Ok((window, figures).into())
}

/// Sends the figures now, then again whenever a change moves them, at most once per
/// [`WATCH_INTERVAL`]; ends when the client goes away, or with UNAVAILABLE when the change feed
/// closes because the server is shutting down.
async fn watch<R: FigureRepository>(
    repository: Arc<R>,
    query: FigureQuery,
    mut changes: Changes,
    sink: mpsc::Sender<Result<pb::WatchFiguresResponse, Status>>,
) {
    let mut sent: Option<pb::ReconciledFigures> = None;
    let mut last_sent: Option<Instant> = None;
    loop {
        changes.borrow_and_update();
        match figures(&*repository, query.clone()).await {
            Ok(now) if sent.as_ref() != Some(&now) => {
                let message = pb::WatchFiguresResponse {
                    figures: Some(now.clone()),
                };
                if sink.send(Ok(message)).await.is_err() {
                    return;
                }
                sent = Some(now);
                last_sent = Some(Instant::now());
            }
            Ok(_) => {}
            Err(status) => {
                let _ = sink.send(Err(status)).await;
                return;
            }
        }
        // Wait for a change, then let a second pass since the last message.
        let pause_until = last_sent.map(|at| at + WATCH_INTERVAL);
        tokio::select! {
            changed = changes.changed() => if changed.is_err() {
                let _ = sink.send(Err(shutting_down())).await;
                return;
            },
            () = sink.closed() => return,
        }
        if let Some(until) = pause_until {
            // Changes during the pause are seen after it; only the feed closing cuts it short.
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(until) => break,
                    () = sink.closed() => return,
                    changed = changes.changed() => if changed.is_err() {
                        let _ = sink.send(Err(shutting_down())).await;
                        return;
                    },
                }
            }
        }
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchFiguresResponse, Status>> + Send>>;

#[tonic::async_trait]
impl<R: FigureRepository> FigureService for FigureApi<R> {
    async fn get_reconciled_figures(
        &self,
        request: Request<pb::GetReconciledFiguresRequest>,
    ) -> Result<Response<pb::GetReconciledFiguresResponse>, Status> {
        let query = FigureQuery::try_from(request.into_inner()).map_err(invalid)?;
        self.check_sources(&query).await?;
        Ok(Response::new(pb::GetReconciledFiguresResponse {
            figures: Some(self.figures(query).await?),
        }))
    }

    async fn get_figure_series(
        &self,
        request: Request<pb::GetFigureSeriesRequest>,
    ) -> Result<Response<pb::GetFigureSeriesResponse>, Status> {
        let SeriesQuery { query, granularity } =
            SeriesQuery::try_from(request.into_inner()).map_err(invalid)?;
        // Stop counting past the limit: a DAY series over millennia would be millions of buckets.
        let buckets: Vec<_> = buckets(query.window, granularity)
            .take(MAX_BUCKETS + 1)
            .collect();
        if buckets.len() > MAX_BUCKETS {
            return Err(invalid(Violations::one(
                "granularity",
                format!(
                    "gives more than {MAX_BUCKETS} buckets over this window: choose a coarser granularity or a shorter window"
                ),
            )));
        }
        self.check_sources(&query).await?;
        let series = self
            .repository
            .figure_series(query, buckets.clone())
            .await
            .map_err(from_repository)?;
        let series = buckets
            .into_iter()
            .zip(series)
            .map(pb::ReconciledFigures::from)
            .collect();
        Ok(Response::new(pb::GetFigureSeriesResponse {
            buckets: series,
        }))
    }

    async fn get_assessment_flow(
        &self,
        request: Request<pb::GetAssessmentFlowRequest>,
    ) -> Result<Response<pb::GetAssessmentFlowResponse>, Status> {
        let FlowQuery { source, window } =
            FlowQuery::try_from(request.into_inner()).map_err(invalid)?;
        let registered = self
            .repository
            .source_ids()
            .await
            .map_err(from_repository)?;
        if !registered.contains(&source) {
            return Err(from_repository(RepositoryError::NotFound {
                resource: Resource::Source,
                id: source.to_string(),
                field: "source_id".to_owned(),
            }));
        }
        let flow = self
            .repository
            .assessment_flow(source, window)
            .await
            .map_err(from_repository)?;
        Ok(Response::new(flow.into()))
    }

    type WatchFiguresStream = WatchStream;

    async fn watch_figures(
        &self,
        request: Request<pb::WatchFiguresRequest>,
    ) -> Result<Response<Self::WatchFiguresStream>, Status> {
        let query = FigureQuery::try_from(request.into_inner()).map_err(invalid)?;
        self.check_sources(&query).await?;
        let (sink, stream) = mpsc::channel(1);
        tokio::spawn(watch(
            Arc::clone(&self.repository),
            query,
            self.changes.clone(),
            sink,
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(stream))))
    }
}
