//! The per-vendor rate governor: every request to a vendor passes through its governor,
//! which enforces
//!
//! - a cap on requests in flight at once (`max_concurrent_requests`, a tokio semaphore);
//! - an optional cap on the request rate (`max_requests_per_second`), as evenly spaced
//!   start slots (a virtual schedule: each request reserves the next free slot);
//! - AIMD back-pressure on `429 Too Many Requests`: every 429 pauses the whole vendor
//!   until its `Retry-After` has passed (all requests, not just the one that got it), and
//!   halves the effective rate (multiplicative decrease, once per congestion event: a 429
//!   answering a request sent before the last decrease does not halve again). Each
//!   success then gives back a fixed step (additive increase: 5% of the ceiling, but at
//!   least a tenth of it up to 1 request/s) until the rate is back at the configured cap
//!   or, without one, at the rate measured when the 429 came, where the limit is lifted
//!   again. The rate never drops below [`MIN_RATE`].
//!
//! Written by hand rather than with the `governor` crate: that crate's GCRA limiter has a
//! quota fixed at construction (no way to lower and raise the rate at run time, which
//! AIMD needs), no shared pause, and no concurrency cap, so it would cover only the
//! simplest third of this.
//!
//! Without a configured cap, the first decrease halves the rate requests were being sent
//! at: a moving average of the gaps between request starts, leaving out gaps that span a
//! pause (they measure the pause, not the sending) and gaps over a second (idleness, such
//! as Terraform waiting on dependencies). Before there are a few gaps to go by, it is
//! taken to be [`UNMEASURED_RATE`].
//!
//! Every wait here is a plain tokio wait (semaphore acquire, sleep): dropping the future
//! (StopProvider cancels in-flight calls that way) cancels it, and leaves no state behind
//! but a reserved start slot, which only spaces later requests slightly.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// The slowest the governor ever paces a vendor (requests per second).
pub const MIN_RATE: f64 = 0.5;
/// The share of the ceiling each success gives back after a decrease (at least a tenth
/// of the ceiling, up to 1 request/s: see [`recovery_step`]).
pub const RECOVERY_STEP: f64 = 0.05;
/// The most a measured sending rate is taken to be (requests per second): starts in one
/// burst are microseconds apart.
pub const MAX_MEASURED_RATE: f64 = 500.0;
/// The sending rate assumed before it could be measured (requests per second).
pub const UNMEASURED_RATE: f64 = 50.0;
/// The weight of the newest gap in the moving average of gaps between request starts.
const GAP_WEIGHT: f64 = 0.2;
/// Gaps longer than this are idleness, not sending: left out of the average.
const MAX_GAP: Duration = Duration::from_secs(1);
/// Gaps needed before the average is trusted.
const MIN_GAPS: u32 = 3;

/// Where the pacing stands (for tests and logs).
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// The effective rate limit (requests per second); None when unlimited.
    pub rate: Option<f64>,
    /// How long the vendor stays paused.
    pub paused_for: Option<Duration>,
    /// 429 answers seen.
    pub throttled: u64,
}

#[derive(Debug)]
struct Pace {
    rate: Option<f64>,
    /// What additive increase climbs back to.
    ceiling: f64,
    /// The earliest start of the next request (the virtual schedule).
    next_slot: Instant,
    paused_until: Option<Instant>,
    /// The latest pause, from the 429 that started it to its end.
    last_pause: Option<(Instant, Instant)>,
    last_decrease: Option<Instant>,
    last_start: Option<Instant>,
    /// Moving average of the gaps between request starts, in seconds (gaps spanning a
    /// pause left out).
    gap: Option<f64>,
    gaps: u32,
    throttled: u64,
}

impl Pace {
    /// Counts a request start in the measured sending rate.
    fn record_start(&mut self, now: Instant) {
        if let Some(prev) = self.last_start {
            let spans_pause = self.last_pause.is_some_and(|(from, to)| from < now && to > prev);
            let gap = now.duration_since(prev);
            if !spans_pause && gap <= MAX_GAP {
                let g = gap.as_secs_f64();
                self.gaps = self.gaps.saturating_add(1);
                self.gap = Some(match self.gap {
                    Some(avg) => avg + GAP_WEIGHT * (g - avg),
                    None => g,
                });
            }
        }
        self.last_start = Some(now);
    }

    /// The rate requests were being sent at, as measured (see the module docs).
    fn sending_rate(&self) -> f64 {
        match self.gap {
            _ if self.gaps < MIN_GAPS => UNMEASURED_RATE,
            Some(g) if g > 0.0 => (1.0 / g).min(MAX_MEASURED_RATE),
            _ => MAX_MEASURED_RATE,
        }
    }
}

/// One vendor's governor (shared by every request to that vendor).
#[derive(Debug)]
pub struct Governor {
    permits: Semaphore,
    configured: Option<f64>,
    pace: Mutex<Pace>,
}

/// Permission to send one request; holds a concurrency slot until dropped.
#[derive(Debug)]
pub struct Permit<'a> {
    _slot: SemaphorePermit<'a>,
    /// When the request was let through (to tell which 429s are news).
    pub started: Instant,
}

impl Governor {
    /// `max_concurrent` is at least 1; `max_rps`, when set, is positive.
    pub fn new(max_concurrent: usize, max_rps: Option<f64>) -> Governor {
        let max_rps = max_rps.filter(|r| r.is_finite() && *r > 0.0);
        Governor {
            permits: Semaphore::new(max_concurrent.clamp(1, Semaphore::MAX_PERMITS)),
            configured: max_rps,
            pace: Mutex::new(Pace {
                rate: max_rps,
                ceiling: max_rps.unwrap_or(0.0),
                next_slot: Instant::now(),
                paused_until: None,
                last_pause: None,
                last_decrease: None,
                last_start: None,
                gap: None,
                gaps: 0,
                throttled: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a concurrency slot, the end of any pause, and a start slot under the
    /// current rate. Cancel-safe (see the module docs).
    pub async fn acquire(&self) -> Permit<'_> {
        // The semaphore is never closed, so acquiring only fails if that invariant breaks;
        // then the request goes ahead unlimited rather than failing.
        let slot = match self.permits.acquire().await {
            Ok(p) => p,
            Err(_) => unreachable_closed(),
        };
        loop {
            let (wake, reserved) = {
                let mut p = self.lock();
                let now = Instant::now();
                match p.paused_until {
                    Some(until) if until > now => (until, false),
                    _ => {
                        p.paused_until = None;
                        let start = p.next_slot.max(now);
                        p.next_slot = match p.rate {
                            Some(r) => start + Duration::from_secs_f64(1.0 / r),
                            None => now,
                        };
                        if start <= now {
                            p.record_start(now);
                            return Permit { _slot: slot, started: now };
                        }
                        (start, true)
                    }
                }
            };
            tokio::time::sleep_until(wake).await;
            if reserved {
                // The slot is ours unless a 429 paused the vendor meanwhile.
                let mut p = self.lock();
                let now = Instant::now();
                if p.paused_until.is_none_or(|until| until <= now) {
                    p.record_start(now);
                    return Permit { _slot: slot, started: now };
                }
            }
        }
    }

    /// A 429 answered a request let through at `started`: pause the vendor for `pause`
    /// (its `Retry-After`, or a backoff) and halve the rate, once per congestion event.
    pub fn throttled(&self, pause: Duration, started: Instant) {
        let mut p = self.lock();
        let now = Instant::now();
        p.throttled += 1;
        let until = now + pause;
        if p.paused_until.is_none_or(|u| u < until) {
            p.paused_until = Some(until);
        }
        p.last_pause = match p.last_pause {
            // The same pause, extended.
            Some((from, to)) if to >= now => Some((from, to.max(until))),
            _ => Some((now, until)),
        };
        if p.last_decrease.is_some_and(|d| started < d) {
            return; // sent at the old rate: this congestion was already answered
        }
        let current = match p.rate {
            Some(r) => r,
            None => {
                let sending = p.sending_rate().max(MIN_RATE * 2.0);
                p.ceiling = self.configured.unwrap_or(sending);
                sending
            }
        };
        let halved = (current / 2.0).max(MIN_RATE);
        p.rate = Some(halved);
        p.last_decrease = Some(now);
        tracing::info!(
            rate = halved,
            pause_ms = pause.as_millis() as u64,
            "rate limited (429): pausing the vendor and halving its request rate"
        );
    }

    /// A request succeeded: give back a little of the rate (additive increase).
    pub fn succeeded(&self) {
        let mut p = self.lock();
        let Some(r) = p.rate else { return };
        let ceiling = p.ceiling.max(MIN_RATE);
        let next = r + recovery_step(ceiling);
        p.rate = if next >= ceiling {
            // Back at the cap; without a configured cap the limit is lifted.
            self.configured
        } else {
            Some(next)
        };
    }

    pub fn snapshot(&self) -> Snapshot {
        let p = self.lock();
        let now = Instant::now();
        Snapshot { rate: p.rate, paused_for: p.paused_until.filter(|u| *u > now).map(|u| u - now), throttled: p.throttled }
    }
}

/// The additive increase per success: 5% of the ceiling (from half the ceiling back to all
/// of it in ten successes), but at least a tenth of it up to 1 request/s, so that a low
/// cap is regained as quickly.
pub fn recovery_step(ceiling: f64) -> f64 {
    (ceiling * RECOVERY_STEP).max((ceiling / 10.0).min(1.0))
}

#[cold]
fn unreachable_closed() -> ! {
    // Never closed: `Governor` exposes no way to close its semaphore.
    panic!("the governor's semaphore was closed")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrency_is_capped() {
        let g = Arc::new(Governor::new(3, None));
        let inflight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (g, inflight, peak) = (g.clone(), inflight.clone(), peak.clone());
                tokio::spawn(async move {
                    let _p = g.acquire().await;
                    let n = inflight.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    inflight.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_configured_rate_spaces_requests() {
        let g = Governor::new(100, Some(50.0)); // one start every 20 ms
        let t0 = Instant::now();
        for _ in 0..6 {
            drop(g.acquire().await);
        }
        // Five gaps of 20 ms at least (only a lower bound: the machine may be slower).
        assert!(t0.elapsed() >= Duration::from_millis(100), "{:?}", t0.elapsed());
    }

    #[tokio::test]
    async fn a_429_pauses_everyone_and_halves_the_rate_once_per_event() {
        let g = Governor::new(10, Some(40.0));
        let early = g.acquire().await.started;
        let late = g.acquire().await.started;
        g.throttled(Duration::from_millis(150), late);
        let s = g.snapshot();
        assert_eq!(s.rate, Some(20.0));
        assert!(s.paused_for.is_some_and(|d| d > Duration::from_millis(100)), "{s:?}");
        // A 429 for a request sent before the decrease extends the pause, no second halving.
        g.throttled(Duration::from_millis(10), early);
        assert_eq!(g.snapshot().rate, Some(20.0));
        assert_eq!(g.snapshot().throttled, 2);
        // Any request now waits for the pause to end.
        let t0 = Instant::now();
        let p = g.acquire().await;
        assert!(t0.elapsed() >= Duration::from_millis(100), "{:?}", t0.elapsed());
        // A 429 for a request sent after the decrease halves again.
        g.throttled(Duration::ZERO, p.started);
        assert_eq!(g.snapshot().rate, Some(10.0));
    }

    #[tokio::test]
    async fn the_rate_recovers_gradually_and_never_drops_below_the_floor() {
        let g = Governor::new(10, Some(10.0));
        for _ in 0..20 {
            // Each 429 answers a request sent after the previous decrease.
            g.throttled(Duration::ZERO, Instant::now());
        }
        assert_eq!(g.snapshot().rate, Some(MIN_RATE));
        g.succeeded();
        let after_one = g.snapshot().rate.expect("limited");
        assert_eq!(after_one, MIN_RATE + recovery_step(10.0));
        assert!(after_one < 2.0, "gradual: {after_one}");
        for _ in 0..100 {
            g.succeeded();
        }
        assert_eq!(g.snapshot().rate, Some(10.0), "back at the configured cap, not above");
    }

    #[tokio::test]
    async fn without_a_configured_rate_the_limit_comes_from_what_was_sent_and_is_lifted_again() {
        let g = Governor::new(100, None);
        let mut last = None;
        for _ in 0..10 {
            last = Some(g.acquire().await.started);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        g.throttled(Duration::ZERO, last.expect("sent"));
        let rate = g.snapshot().rate.expect("limited after a 429");
        // Sent about every 20 ms (more on a busy machine): some 50 requests/s, halved.
        assert!((2.0..=26.0).contains(&rate), "half the sending rate: {rate}");
        // Before anything could be measured: half the assumed rate.
        let fresh = Governor::new(10, None);
        fresh.throttled(Duration::ZERO, Instant::now());
        assert_eq!(fresh.snapshot().rate, Some(UNMEASURED_RATE / 2.0));
        // Bursts are measured as the most a rate is taken to be.
        let burst = Governor::new(100, None);
        let mut last = None;
        for _ in 0..10 {
            last = Some(burst.acquire().await.started);
        }
        burst.throttled(Duration::ZERO, last.expect("sent"));
        assert!(burst.snapshot().rate.is_some_and(|r| r > 10.0 && r <= MAX_MEASURED_RATE / 2.0), "{:?}", burst.snapshot());
        for _ in 0..60 {
            g.succeeded();
        }
        assert_eq!(g.snapshot().rate, None, "recovered: unlimited again");
    }

    #[tokio::test]
    async fn waiting_is_cancellable() {
        let g = Arc::new(Governor::new(1, None));
        let held = g.acquire().await;
        let g2 = g.clone();
        let waiter = tokio::spawn(async move {
            let _p = g2.acquire().await;
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        waiter.abort();
        assert!(waiter.await.expect_err("aborted").is_cancelled());
        drop(held);
        // The cancelled waiter took nothing: the slot is free.
        tokio::time::timeout(Duration::from_secs(5), g.acquire()).await.expect("the slot is free again");
        // Likewise for a wait on a pause.
        let started = g.acquire().await.started;
        g.throttled(Duration::from_secs(3600), started);
        let paused = tokio::time::timeout(Duration::from_millis(50), g.acquire()).await;
        assert!(paused.is_err(), "still paused: the wait is dropped by the timeout");
    }
}
