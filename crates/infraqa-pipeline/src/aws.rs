//! AWS clients built once, on first use: a report with a local history never reads AWS
//! configuration, and every step of a run shares one set of clients (and rate limiters).

use infraqa_aws::{AwsClients, AwsOptions};
use infraqa_core::Policy;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Clients built from options when first asked for. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Aws {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    options: AwsOptions,
    cell: OnceCell<AwsClients>,
}

impl Aws {
    /// Nothing loaded yet.
    pub fn new(options: AwsOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                options,
                cell: OnceCell::new(),
            }),
        }
    }

    /// Already-built clients.
    pub fn from_clients(clients: AwsClients) -> Self {
        Self {
            inner: Arc::new(Inner {
                options: AwsOptions::default(),
                cell: OnceCell::new_with(Some(clients)),
            }),
        }
    }

    /// The clients, paced at the policy's `[scan.rate_limits]` where the options (the command
    /// line) set no rate of their own.
    pub async fn for_policy(&self, policy: &Policy) -> AwsClients {
        self.get().await.with_rate_limits(&policy.scan.rate_limits)
    }

    /// The clients, loaded on the first call.
    pub async fn get(&self) -> &AwsClients {
        self.inner
            .cell
            .get_or_init(|| AwsClients::load(self.inner.options.clone()))
            .await
    }
}
