//! Counting API calls by service and operation, every attempt included.
//!
//! An interceptor on every client records each request as it is transmitted, so retries are
//! counted: the count is what AWS bills and throttles, and what the scan benchmark compares
//! with the minimum an estate needs.

use crate::options::Service;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Calls per (service, operation).
pub type CallCounts = BTreeMap<String, BTreeMap<String, u64>>;

/// A shared tally of API calls.
#[derive(Debug, Clone, Default)]
pub struct CallTally {
    counts: Arc<Mutex<CallCounts>>,
}

impl CallTally {
    /// An interceptor that records `service`'s calls into this tally.
    pub fn interceptor(&self, service: Service) -> CallCounter {
        CallCounter {
            service,
            tally: self.clone(),
        }
    }

    fn add(&self, service: Service, operation: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts
            .entry(service.as_str().to_owned())
            .or_default()
            .entry(operation.to_owned())
            .or_default() += 1;
    }

    /// The calls made so far.
    pub fn snapshot(&self) -> CallCounts {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The interceptor half of [`CallTally`]: one per client, labelled with its service.
#[derive(Debug, Clone)]
pub struct CallCounter {
    service: Service,
    tally: CallTally,
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "infraqa-call-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("unknown", Metadata::name);
        self.tally.add(self.service, operation);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_per_service_and_operation() {
        let tally = CallTally::default();
        tally.add(Service::Ec2, "DescribeInstances");
        tally.add(Service::Ec2, "DescribeInstances");
        tally.add(Service::S3, "ListBuckets");
        let snap = tally.snapshot();
        assert_eq!(snap["ec2"]["DescribeInstances"], 2);
        assert_eq!(snap["s3"]["ListBuckets"], 1);
        assert_eq!(
            tally.interceptor(Service::Iam).name(),
            "infraqa-call-counter"
        );
    }
}
