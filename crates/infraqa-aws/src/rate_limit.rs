//! Client-side rate limiting: an HTTP client that waits for a token before every request.
//!
//! The limit sits below the SDK's retry loop, so retries spend tokens too and a throttled
//! service is never hammered. One limiter exists per (service, region), the unit AWS itself
//! throttles by, built on governor's GCRA token bucket.

use crate::options::RateLimit;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::sync::Arc;

/// A direct (unkeyed) limiter on clock `C`.
pub type Limiter<C = DefaultClock> =
    RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The governor quota for `limit`.
pub fn quota(limit: RateLimit) -> Quota {
    Quota::per_second(limit.per_second).allow_burst(limit.burst)
}

/// A limiter for `limit` on an explicit clock (tests use a fake one).
pub fn limiter_with_clock<C: Clock>(limit: RateLimit, clock: C) -> Limiter<C> {
    RateLimiter::direct_with_clock(quota(limit), clock)
}

/// Wraps an HTTP client so each request first waits for `limiter`.
#[derive(Debug, Clone)]
pub struct RateLimitedHttpClient {
    inner: SharedHttpClient,
    limiter: Arc<Limiter>,
}

impl RateLimitedHttpClient {
    /// Limits `inner` by `limiter` (share the limiter between clients of one service and region).
    pub fn new(inner: SharedHttpClient, limiter: Arc<Limiter>) -> Self {
        Self { inner, limiter }
    }
}

impl HttpClient for RateLimitedHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RateLimitedConnector {
            inner: self.inner.http_connector(settings, components),
            limiter: Arc::clone(&self.limiter),
        })
    }
}

#[derive(Debug)]
struct RateLimitedConnector {
    inner: SharedHttpConnector,
    limiter: Arc<Limiter>,
}

impl HttpConnector for RateLimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let limiter = Arc::clone(&self.limiter);
        HttpConnectorFuture::new(async move {
            limiter.until_ready().await;
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::num::NonZeroU32;
    use std::time::Duration;

    fn limit(per_second: u32, burst: u32) -> RateLimit {
        RateLimit {
            per_second: NonZeroU32::new(per_second).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        }
    }

    /// How many of `attempts` requests, spread evenly over `window`, the limiter lets through.
    fn permitted(limit: RateLimit, attempts: u32, window: Duration) -> u32 {
        let clock = FakeRelativeClock::default();
        let limiter = limiter_with_clock(limit, clock.clone());
        let step = window / attempts.max(1);
        let mut ok = 0;
        for _ in 0..attempts {
            if limiter.check().is_ok() {
                ok += 1;
            }
            clock.advance(step);
        }
        ok
    }

    #[test]
    fn the_limit_caps_requests_per_window() {
        let cases = [
            // (limit, attempts, window, permitted)
            (
                "burst at once is allowed",
                limit(5, 5),
                5,
                Duration::ZERO,
                5,
            ),
            (
                "beyond the burst at once is refused",
                limit(5, 5),
                50,
                Duration::ZERO,
                5,
            ),
            (
                "steady under the rate all pass",
                limit(10, 1),
                10,
                Duration::from_secs(2),
                10,
            ),
            (
                "100 in one second at 20/s",
                limit(20, 1),
                100,
                Duration::from_secs(1),
                20,
            ),
            (
                "burst plus refill over 2 s",
                limit(10, 10),
                1000,
                Duration::from_secs(2),
                30,
            ),
            (
                "1/s for 10 s",
                limit(1, 1),
                100,
                Duration::from_secs(10),
                10,
            ),
        ];
        for (name, limit, attempts, window, want) in cases {
            let got = permitted(limit, attempts, window);
            assert!(
                got.abs_diff(want) <= 1,
                "{name}: permitted {got}, want {want}"
            );
        }
    }

    #[test]
    fn a_refused_request_is_told_when_to_retry() {
        let clock = FakeRelativeClock::default();
        let limiter = limiter_with_clock(limit(4, 1), clock.clone());
        assert!(limiter.check().is_ok());
        let not_until = limiter.check().unwrap_err();
        assert_eq!(
            not_until.wait_time_from(clock.now()),
            Duration::from_millis(250)
        );
        clock.advance(Duration::from_millis(250));
        assert!(limiter.check().is_ok());
    }
}
