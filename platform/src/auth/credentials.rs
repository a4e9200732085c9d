//! The credentials of a tool that drives a whole stack (`stack`, `compare`): the write and admin
//! tokens its services were started with, and a service read token, given or minted.

use std::time::Duration;

use super::issuer::IssuerArgs;
use super::{Reader, Secret, dev};

/// From the same variables the services read. The defaults are the local profile's public dev
/// credentials ([`dev`] and the dev signing key); anywhere else, set them.
#[derive(Clone, Debug, clap::Args)]
pub struct Credentials {
    /// The source services' write token.
    #[arg(long, env = "WRITE_TOKEN", default_value = dev::WRITE_TOKEN, hide_env_values = true, hide_default_value = true)]
    pub write_token: Secret,
    /// The admin token (fault injection, rebuilds).
    #[arg(long, env = "ADMIN_TOKEN", default_value = dev::ADMIN_TOKEN, hide_env_values = true, hide_default_value = true)]
    pub admin_token: Secret,
    /// A service read token (`stack token --service`); without it, one is minted with the
    /// issuer key.
    #[arg(long = "read-token", env = "READ_TOKEN", hide_env_values = true)]
    pub read_token: Option<Secret>,
    #[command(flatten)]
    pub issuer: IssuerArgs,
}

impl Credentials {
    /// The local profile's dev credentials.
    pub fn dev() -> Self {
        Self {
            write_token: dev::WRITE_TOKEN.into(),
            admin_token: dev::ADMIN_TOKEN.into(),
            read_token: None,
            issuer: IssuerArgs::dev(),
        }
    }

    /// The service read token: the one given, or one minted for a day, longer than any run.
    pub async fn service_token(&self) -> anyhow::Result<Secret> {
        if let Some(token) = &self.read_token {
            return Ok(token.clone());
        }
        let issuer = self.issuer.load().await?;
        Ok(Secret::from(issuer.mint(&Reader::Service, Duration::from_secs(86_400)).as_str()))
    }
}
