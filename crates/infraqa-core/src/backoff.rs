//! Exponential backoff with full jitter and a cap.
//!
//! Pure: the caller passes the attempt number and a uniform random number in `[0, 1)`, and gets
//! the delay back. The AWS adapters feed it a real random source; tests feed it fixed values.
//! Full jitter (`delay = random * min(cap, base * 2^attempt)`) spreads retrying clients
//! evenly, which is what AWS recommends for throttling.

use std::time::Duration;

/// An exponential backoff schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's delay.
    pub base: Duration,
    /// No delay exceeds this.
    pub cap: Duration,
}

impl Default for Backoff {
    /// 100 ms doubling up to 20 s, as the AWS SDKs' standard retry mode.
    fn default() -> Self {
        Self {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(20),
        }
    }
}

impl Backoff {
    /// The largest delay attempt `attempt` (0 for the first retry) may wait:
    /// `min(cap, base * 2^attempt)`, without overflow for any attempt.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt).unwrap_or(0);
        if factor == 0 {
            return self.cap;
        }
        self.base
            .checked_mul(factor)
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// The delay before retry `attempt`, given `unit_random` uniform in `[0, 1)`.
    /// Values outside that range are clamped into it.
    pub fn delay(&self, attempt: u32, unit_random: f64) -> Duration {
        let r = if unit_random.is_nan() {
            0.0
        } else {
            unit_random.clamp(0.0, 1.0)
        };
        self.ceiling(attempt).mul_f64(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn ceiling_doubles_from_base_and_stops_at_cap() {
        let b = Backoff {
            base: MS(100),
            cap: MS(2_000),
        };
        let cases = [
            (0, MS(100)),
            (1, MS(200)),
            (2, MS(400)),
            (4, MS(1_600)),
            (5, MS(2_000)),
            (31, MS(2_000)),
            (32, MS(2_000)),
            (u32::MAX, MS(2_000)),
        ];
        for (attempt, want) in cases {
            assert_eq!(b.ceiling(attempt), want, "attempt {attempt}");
        }
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        let b = Backoff::default();
        let cases = [
            (0, 0.0, MS(0)),
            (0, 0.5, MS(50)),
            (3, 0.25, MS(200)),
            (3, 0.999, Duration::from_micros(799_200)),
            (20, 0.5, Duration::from_secs(10)),
            // Out-of-range randoms are clamped, never panic or exceed the ceiling.
            (2, -1.0, MS(0)),
            (2, 7.0, MS(400)),
            (2, f64::NAN, MS(0)),
        ];
        for (attempt, r, want) in cases {
            let got = b.delay(attempt, r);
            assert!(
                got.abs_diff(want) <= Duration::from_micros(1),
                "attempt {attempt} r {r}: got {got:?} want {want:?}"
            );
            assert!(got <= b.ceiling(attempt));
        }
    }

    #[test]
    fn every_delay_stays_within_bounds_over_a_sweep() {
        let b = Backoff {
            base: MS(50),
            cap: Duration::from_secs(5),
        };
        for attempt in 0..40 {
            for step in 0..100 {
                let r = f64::from(step) / 100.0;
                let d = b.delay(attempt, r);
                assert!(d <= b.ceiling(attempt) && d <= b.cap);
            }
        }
    }
}
