//! A run's time budget: the Lambda context's deadline minus a margin (to hand over what
//! is left and move the watermark before the function is stopped).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DAY_MS: u64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, Default)]
pub struct Budget {
    until: Option<Instant>,
    /// Releases that may still start (tests: a budget spent at an exact point).
    starts: Option<Arc<AtomicUsize>>,
}

impl Budget {
    /// Never spent.
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// Spent at `until`.
    pub fn until(until: Instant) -> Self {
        Budget {
            until: Some(until),
            starts: None,
        }
    }

    /// Spent `left` from now.
    pub fn within(left: Duration) -> Self {
        Self::until(Instant::now() + left)
    }

    /// The Lambda context's deadline (milliseconds since the epoch) minus `margin`, or
    /// minus a quarter of the time left when that is less (a short timeout). A value
    /// under a day is taken as the time left itself: `cargo lambda watch` sends its
    /// timeout there (600000), not an instant.
    pub fn from_deadline(deadline_ms: u64, margin: Duration) -> Self {
        let left = if deadline_ms < DAY_MS {
            Duration::from_millis(deadline_ms)
        } else {
            (UNIX_EPOCH + Duration::from_millis(deadline_ms))
                .duration_since(SystemTime::now())
                .unwrap_or_default()
        };
        Self::within(left.saturating_sub(margin.min(left / 4)))
    }

    /// Spent once `n` releases have started (reading the index goes on).
    pub fn releases(n: usize) -> Self {
        Budget {
            until: None,
            starts: Some(Arc::new(AtomicUsize::new(n))),
        }
    }

    /// Whether its time is up (nothing more may start: no index page, no release).
    pub fn expired(&self) -> bool {
        self.until.is_some_and(|u| Instant::now() >= u)
    }

    /// Takes one release from the budget: `false` when it is spent.
    pub fn take(&self) -> bool {
        if self.expired() {
            return false;
        }
        match &self.starts {
            None => true,
            Some(s) => s
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_spent_at_its_deadline_or_after_its_releases() {
        assert!(!Budget::unlimited().expired() && Budget::unlimited().take());
        assert!(Budget::within(Duration::ZERO).expired());
        assert!(!Budget::within(Duration::ZERO).take());
        assert!(!Budget::within(Duration::from_secs(60)).expired());
        let b = Budget::releases(2);
        assert!(b.take() && b.take());
        assert!(!b.take(), "no third release");
        assert!(!b.expired(), "reading may go on");
        let past = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(Budget::from_deadline(past, Duration::ZERO).expired());
        assert!(
            !Budget::from_deadline(600_000, Duration::from_secs(10)).expired(),
            "cargo lambda watch's timeout"
        );
        let b = Budget::from_deadline(past + 60_000, Duration::from_secs(10));
        assert!(!b.expired());
        let left = b.until.unwrap() - Instant::now();
        assert!(
            left <= Duration::from_secs(50),
            "the margin is kept: {left:?}"
        );
        let short = Budget::from_deadline(past + 3_000, Duration::from_secs(10));
        let left = short.until.unwrap() - Instant::now();
        assert!(
            !short.expired() && left <= Duration::from_millis(2_250),
            "a short timeout keeps a quarter: {left:?}"
        );
    }
}
