//! AWS clients for a command: the pipeline's [`Aws`], built from the global options and loaded
//! on first use (a report with a local history never reads AWS configuration).

use crate::args::GlobalArgs;
pub use infraqa_pipeline::Aws;

/// The clients the global options describe.
pub fn aws(global: &GlobalArgs) -> Aws {
    Aws::new(global.aws_options())
}
