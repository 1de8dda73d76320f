//! The one shape of every write: load → plan → apply, retried when the state moved.
//!
//! A handler (or the cutoff function) describes its command by implementing
//! [`Command`]: `load` reads what the rule needs (consistent reads, versions
//! included), `plan` calls the pure domain function that decides everything and
//! returns a [`Plan`] (or a domain error, or an answer with nothing to write).
//! [`execute`] hands the plan to `Store::apply` (one conditional transaction). When a
//! condition failed — the state moved since the read, or a rule the plan could not see
//! without more reads (the pool's free rooms, say) — it loads again with
//! [`Attempt::after_refusal`] set, so the next `load` reads those details too and the
//! next `plan` refuses with the precise error, or succeeds on the fresh state.
//! Retries pause with full jitter; [`MAX_ATTEMPTS`] bounds them, then `503`.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use crate::domain::error::ApiError;
use crate::domain::idempotency::{Intent, StoredResponse, Verdict};
use crate::domain::ids::TenantId;
use crate::domain::plan::{merge, Change, Plan};
use crate::store::{Applied, AppliedParts, Store};

/// Load → plan → apply rounds before a command gives up with `503 UNAVAILABLE`.
pub const MAX_ATTEMPTS: u32 = 8;

/// Which round of a command this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// 0 for the first round.
    pub number: u32,
    /// The previous round's transaction was refused by a condition: load what is
    /// needed to say why (e.g. the pool nights), not only what is needed to plan.
    pub after_refusal: bool,
}

impl Attempt {
    pub const FIRST: Attempt = Attempt {
        number: 0,
        after_refusal: false,
    };
}

/// What a plan decided.
#[derive(Debug)]
pub enum Decision<T> {
    /// Apply this plan; answer `T` once it committed.
    Apply(Plan, T),
    /// Nothing to write (an idempotent repeat, nothing due): answer `T` now.
    Answer(T),
}

/// A write command: what it reads and how it plans. See the module documentation.
pub trait Command: Sync {
    type State: Send;
    type Output: Send;

    /// The tenant whose items the plan changes.
    fn tenant(&self) -> &TenantId;

    /// Reads what the plan needs.
    fn load(&self, attempt: Attempt) -> impl Future<Output = Result<Self::State, ApiError>> + Send;

    /// The pure domain plan of this command on the state read.
    fn plan(&self, state: Self::State) -> Result<Decision<Self::Output>, ApiError>;
}

/// Runs a command: load → plan → apply until it commits, is refused by the domain,
/// needs no write, or [`MAX_ATTEMPTS`] rounds found the state moving (`503`).
pub async fn execute<C: Command>(store: &Store, command: &C) -> Result<C::Output, ApiError> {
    let none: Option<(&Intent, &NoRecord<C::Output>)> = None;
    match run(store, command, none).await? {
        Keyed::Done(output) => Ok(output),
        Keyed::Replay(_) => Err(ApiError::Internal("a replay without a key".into())),
    }
}

type NoRecord<T> = fn(&T) -> Result<StoredResponse, ApiError>;

/// How a keyed command ended.
#[derive(Debug)]
pub enum Keyed<T> {
    /// It ran, and its response was recorded with its effect.
    Done(T),
    /// The same request had already taken effect: its recorded response.
    Replay(StoredResponse),
}

/// Runs a command under an `Idempotency-Key`: every plan also records, in the same
/// transaction, the response `record` gives for its output, if the key is free. A
/// taken key answers the recorded response (same request) or `422` (another one).
pub async fn execute_keyed<C, R>(
    store: &Store,
    command: &C,
    intent: &Intent,
    record: &R,
) -> Result<Keyed<C::Output>, ApiError>
where
    C: Command,
    R: Fn(&C::Output) -> Result<StoredResponse, ApiError> + Sync,
{
    run(store, command, Some((intent, record))).await
}

async fn run<C, R>(
    store: &Store,
    command: &C,
    keyed: Option<(&Intent, &R)>,
) -> Result<Keyed<C::Output>, ApiError>
where
    C: Command,
    R: Fn(&C::Output) -> Result<StoredResponse, ApiError> + Sync,
{
    let mut attempt = Attempt::FIRST;
    loop {
        let state = command.load(attempt).await?;
        let (mut plan, output) = match (command.plan(state)?, keyed) {
            (Decision::Answer(output), None) => return Ok(Keyed::Done(output)),
            // A keyed answer is recorded too (a repeat must replay it).
            (Decision::Answer(output), Some(_)) => (Plan::new(), output),
            (Decision::Apply(plan, output), _) => (plan, output),
        };
        if let Some((intent, record)) = keyed {
            plan.push(Change::Idempotency {
                intent: intent.clone(),
                response: record(&output)?,
            });
        }
        match store.apply(command.tenant(), &plan).await? {
            Applied::Done => return Ok(Keyed::Done(output)),
            Applied::Refused => {}
            Applied::KeyTaken(found) => {
                let Some((intent, _)) = keyed else {
                    return Err(ApiError::Internal("a key taken without a key".into()));
                };
                match intent.judge(&found) {
                    Verdict::Replay(response) => return Ok(Keyed::Replay(response)),
                    Verdict::Reused => return Err(ApiError::IdempotencyKeyReused),
                    Verdict::Free => {}
                }
            }
        }
        if attempt.number + 1 >= MAX_ATTEMPTS {
            return Err(ApiError::Unavailable(format!(
                "the state kept moving: {MAX_ATTEMPTS} attempts refused"
            )));
        }
        // The first retry reads the details at once; later ones pause (full jitter).
        if attempt.after_refusal {
            tokio::time::sleep(pause(attempt.number, rand::random::<f64>())).await;
        }
        attempt = Attempt {
            number: attempt.number + 1,
            after_refusal: true,
        };
    }
}

/// Applies the plans of several commands of one tenant as ONE transaction (merged by
/// [`merge`]), for a caller that does many at once (the cutoff): per part, whether it
/// committed. When a condition is false, the parts whose changes DynamoDB names moved
/// since they were read: they are left out (`false`: the caller runs each as its own
/// command, which reads it again) and the others are tried again together, at most
/// once per part left out. A refusal no single part owns (a shared pool bucket or
/// holds counter) leaves every part still in to the caller.
pub async fn apply_together(
    store: &Store,
    tenant: &TenantId,
    parts: &[&Plan],
) -> Result<Vec<bool>, ApiError> {
    let mut done = vec![false; parts.len()];
    let mut left: Vec<usize> = (0..parts.len()).collect();
    while !left.is_empty() {
        let plans: Vec<&Plan> = left.iter().map(|i| parts[*i]).collect();
        let merged = merge(&plans);
        let refused = match store.apply_merged(tenant, &merged.plan).await? {
            AppliedParts::Done => {
                for i in left {
                    done[i] = true;
                }
                break;
            }
            AppliedParts::Refused(changes) => changes,
        };
        let moved: Option<BTreeSet<usize>> = refused
            .iter()
            .map(|c| merged.owners.get(*c).copied().flatten())
            .collect();
        match moved {
            Some(moved) if !moved.is_empty() => {
                left = (0..left.len())
                    .filter(|k| !moved.contains(k))
                    .map(|k| left[k])
                    .collect();
            }
            _ => break,
        }
    }
    Ok(done)
}

/// Full-jitter exponential backoff: a random wait in `[0, min(1 s, 25 ms · 2^n))`.
pub fn pause(attempt: u32, unit: f64) -> Duration {
    let ceiling_ms = (25u64 << attempt.min(6)).min(1_000);
    Duration::from_millis((ceiling_ms as f64 * unit.clamp(0.0, 1.0)) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_are_jittered_and_capped() {
        assert_eq!(pause(0, 0.0), Duration::ZERO);
        assert_eq!(pause(0, 1.0), Duration::from_millis(25));
        assert_eq!(pause(2, 0.5), Duration::from_millis(50));
        assert_eq!(pause(30, 1.0), Duration::from_millis(1_000));
        assert!(pause(3, 0.999) < Duration::from_millis(200));
    }
}
