//! AWS clients loaded once per command, on first use: `report` with a local history never
//! reads AWS configuration, and `run` shares the scan's clients with the S3 history store and
//! Cost Explorer.

use crate::args::GlobalArgs;
use infraqa_aws::AwsClients;
use tokio::sync::OnceCell;

/// Clients built from the global options when first asked for.
pub struct LazyClients<'a> {
    global: &'a GlobalArgs,
    cell: OnceCell<AwsClients>,
}

impl<'a> LazyClients<'a> {
    /// Nothing loaded yet.
    pub fn new(global: &'a GlobalArgs) -> Self {
        Self {
            global,
            cell: OnceCell::new(),
        }
    }

    /// The clients, loaded on the first call.
    pub async fn get(&self) -> &AwsClients {
        self.cell
            .get_or_init(|| AwsClients::load(self.global.aws_options()))
            .await
    }
}
