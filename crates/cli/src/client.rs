//! The connection to the server, with the bearer token on every call.

use anyhow::Context;
use civcas_proto::v1::assessment_service_client::AssessmentServiceClient;
use civcas_proto::v1::figure_service_client::FigureServiceClient;
use civcas_proto::v1::incident_service_client::IncidentServiceClient;
use civcas_proto::v1::source_service_client::SourceServiceClient;
use civcas_proto::v1::statement_service_client::StatementServiceClient;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Adds `authorization: Bearer <token>` to every call when a token is configured.
#[derive(Debug, Clone)]
pub struct BearerToken(Option<MetadataValue<tonic::metadata::Ascii>>);

impl Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        Ok(request)
    }
}

type Authorised = InterceptedService<Channel, BearerToken>;

#[derive(Debug, Clone)]
pub struct Connection {
    channel: Channel,
    token: BearerToken,
}

impl Connection {
    pub async fn open(endpoint: &str, token: Option<&str>) -> anyhow::Result<Self> {
        let token = token
            .map(|t| format!("Bearer {t}").parse())
            .transpose()
            .context("the token holds characters a header cannot")?;
        let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
            .with_context(|| format!("{endpoint:?} is not a URL"))?
            .connect_lazy();
        Ok(Self {
            channel,
            token: BearerToken(token),
        })
    }

    fn intercepted(&self) -> Authorised {
        InterceptedService::new(self.channel.clone(), self.token.clone())
    }

    pub fn sources(&self) -> SourceServiceClient<Authorised> {
        SourceServiceClient::new(self.intercepted())
    }

    pub fn incidents(&self) -> IncidentServiceClient<Authorised> {
        IncidentServiceClient::new(self.intercepted())
    }

    pub fn assessments(&self) -> AssessmentServiceClient<Authorised> {
        AssessmentServiceClient::new(self.intercepted())
    }

    pub fn statements(&self) -> StatementServiceClient<Authorised> {
        StatementServiceClient::new(self.intercepted())
    }

    pub fn figures(&self) -> FigureServiceClient<Authorised> {
        FigureServiceClient::new(self.intercepted())
    }
}
