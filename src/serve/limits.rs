//! Per-token rate limit (SPEC §13): governor's GCRA, one cell per token id, so a token sending
//! too fast is told when to come back (`Retry-After`) and the others are not slowed.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl RateLimit {
    pub fn new(per_second: u32, burst: u32) -> RateLimit {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        RateLimit {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when this token must wait before its next request.
    pub fn check(&self, token_id: &str) -> Result<(), Duration> {
        self.limiter
            .check_key(&token_id.to_string())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets tokens that have been quiet long enough to be full again (memory stays bounded
    /// by the tokens in use, not every token ever seen).
    pub fn forget_quiet(&self) {
        self.limiter.retain_recent();
    }
}

/// `Retry-After` in whole seconds, never 0 (a client would retry at once).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}
