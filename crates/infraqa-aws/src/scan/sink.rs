//! What one scan unit produced: resources, the errors it recorded, and notes.

use crate::error::AwsError;
use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infraqa_core::observed::Observed;
use infraqa_core::settings::AccountSettings;
use infraqa_core::{Resource, ScanError};
use std::error::Error as StdError;

/// The output of one (region, service) unit.
#[derive(Debug, Default)]
pub struct Sink {
    /// Resources found.
    pub resources: Vec<Resource>,
    /// What could not be read.
    pub errors: Vec<ScanError>,
    /// The account settings read ([`super::settings`]).
    pub settings: AccountSettings,
}

impl Sink {
    /// Records a failed call; the scan goes on. Returns the record, for the field it leaves
    /// unread.
    pub fn error(&mut self, region: &str, err: &AwsError) -> ScanError {
        let record = err.record(region);
        tracing::warn!(
            region,
            service = record.service,
            operation = record.operation,
            error = %err,
            "recorded scan error"
        );
        self.errors.push(record.clone());
        record
    }

    /// Records a problem that is not an API error (e.g. a document that does not parse).
    pub fn problem(
        &mut self,
        region: &str,
        service: &str,
        operation: &str,
        code: &str,
        message: String,
    ) -> ScanError {
        tracing::warn!(region, service, operation, code, %message, "recorded scan problem");
        let record = ScanError {
            region: region.to_owned(),
            service: service.to_owned(),
            operation: operation.to_owned(),
            code: code.to_owned(),
            message,
        };
        self.errors.push(record.clone());
        record
    }

    /// What a value read by this sink's calls is: read, unless one of them failed (then
    /// the first failure; a list missing later pages is not the whole list).
    pub fn observed<T>(&self, value: T) -> Observed<T> {
        match self.errors.first() {
            None => Observed::Read(value),
            Some(e) => Observed::failed(e.clone()),
        }
    }

    /// Reads every page of `stream`; on a failed page records the error and keeps the pages
    /// already read.
    pub async fn pages<T, E, R>(
        &mut self,
        region: &str,
        service: &'static str,
        operation: &'static str,
        mut stream: PaginationStream<Result<T, SdkError<E, R>>>,
    ) -> Vec<T>
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let mut pages = Vec::new();
        while let Some(page) = stream.next().await {
            match page {
                Ok(page) => pages.push(page),
                Err(e) => {
                    self.error(region, &AwsError::call(service, operation, e));
                    break;
                }
            }
        }
        pages
    }

    /// One list call's items, every page read, with what failed: the shared shape of a
    /// collector's list. Nothing is asked when the type is not `wanted` (a targeted read that
    /// does not name it); `request` makes the call's pages, `items` takes a page's items.
    pub async fn list<P, E, R, T>(
        region: &str,
        service: &'static str,
        operation: &'static str,
        wanted: bool,
        request: impl FnOnce() -> PaginationStream<Result<P, SdkError<E, R>>>,
        items: impl Fn(P) -> Vec<T>,
    ) -> (Sink, Vec<T>)
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let mut sink = Sink::default();
        if !wanted {
            return (sink, Vec::new());
        }
        let pages = sink.pages(region, service, operation, request()).await;
        let listed = pages.into_iter().flat_map(items).collect();
        (sink, listed)
    }

    /// Adds another unit's output.
    pub fn absorb(&mut self, other: Sink) {
        self.resources.extend(other.resources);
        self.errors.extend(other.errors);
        self.settings.absorb(other.settings);
    }
}
