//! The pool as tests set it up and check it: rooms held on nights without an
//! allotment (for the inventory and availability tests), and the consistency of a
//! pool night.

use shared::command::{Attempt, Decision};
use shared::domain::dates::Month;
use shared::domain::error::ApiError;
use shared::domain::ids::{TenantId, UnitTypeId};
use shared::domain::inventory::{pool_conflicts, PoolNight, PoolView};
use shared::domain::plan::{Change, Plan, PoolDelta};
use shared::store::Store;
use uuid::Uuid;

use crate::run;

/// `quantity` rooms of a unit type on one night.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NightHold {
    pub unit_type_id: UnitTypeId,
    pub date: chrono::NaiveDate,
    pub quantity: i64,
}

/// Plans taking (positive quantities) or returning (negative) pool rooms on many
/// nights, all or nothing; with the pool read, `INSUFFICIENT_CAPACITY` lists every
/// short night.
pub fn plan_holds(
    establishment_id: Uuid,
    holds: &[NightHold],
    pool: Option<&PoolView>,
) -> Result<Plan, ApiError> {
    let nights: Vec<PoolDelta> = holds
        .iter()
        .map(|h| PoolDelta::allot(&h.unit_type_id, h.date, h.quantity))
        .collect();
    if let Some(pool) = pool {
        let short = pool_conflicts(pool, &nights);
        if !short.is_empty() {
            return Err(ApiError::InsufficientCapacity(short));
        }
    }
    Ok(Plan::new().with(Change::Pool {
        establishment_id,
        holder: None,
        nights,
    }))
}

/// Takes (positive) or returns (negative) pool rooms, all or nothing, as an allotment
/// would: `INSUFFICIENT_CAPACITY` lists every short night.
pub async fn hold(
    store: &Store,
    t: &TenantId,
    est: Uuid,
    holds: &[NightHold],
) -> Result<(), ApiError> {
    let mut months: Vec<_> = holds
        .iter()
        .map(|h| (h.unit_type_id.clone(), Month::of(h.date)))
        .collect();
    months.dedup();
    let months = &months;
    run(
        store,
        t,
        |attempt: Attempt| async move {
            match attempt.after_refusal {
                true => store.read_pool_view(t, est, months).await.map(Some),
                false => Ok(None),
            }
        },
        |pool| Ok(Decision::Apply(plan_holds(est, holds, pool.as_ref())?, ())),
    )
    .await
}

/// The counters of a pool night agree with each other (`available = capacity -
/// allotted`, no oversell).
pub fn consistent(n: &PoolNight) -> bool {
    n.available == n.capacity - n.allotted
        && n.allotted <= n.capacity
        && n.allotted >= 0
        && n.picked_up >= 0
        && n.picked_up <= n.allotted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date as d;

    /// `dbl` nights of `(day, capacity, allotted)`.
    fn pool_of(nights: &[(&str, i64, i64)]) -> PoolView {
        let dbl = UnitTypeId::parse("dbl").unwrap();
        let night = |capacity: i64, allotted: i64| PoolNight {
            capacity,
            allotted,
            picked_up: 0,
            available: capacity - allotted,
        };
        let at = |(day, capacity, allotted): &(&str, i64, i64)| {
            ((dbl.clone(), d(day)), night(*capacity, *allotted))
        };
        nights.iter().map(at).collect()
    }

    #[test]
    fn consistency_rule() {
        assert!(consistent(&PoolNight {
            capacity: 10,
            allotted: 4,
            picked_up: 1,
            available: 6
        }));
        assert!(!consistent(&PoolNight {
            capacity: 10,
            allotted: 4,
            picked_up: 0,
            available: 5
        }));
        assert!(!consistent(&PoolNight {
            capacity: 3,
            allotted: 4,
            picked_up: 0,
            available: -1
        }));
    }

    #[test]
    fn hold_plans_name_every_short_night() {
        let est = Uuid::nil();
        let pool = pool_of(&[("2026-09-01", 5, 3), ("2026-09-02", 5, 4)]);
        let hold = |day: &str, quantity| NightHold {
            unit_type_id: UnitTypeId::parse("dbl").unwrap(),
            date: d(day),
            quantity,
        };
        let holds = [
            hold("2026-09-01", 2),
            hold("2026-09-02", 2),
            hold("2026-09-03", 1),
        ];
        assert!(
            plan_holds(est, &holds, None).is_ok(),
            "unread: the conditions decide"
        );
        let Err(ApiError::InsufficientCapacity(short)) = plan_holds(est, &holds, Some(&pool))
        else {
            panic!()
        };
        let got: Vec<_> = short
            .iter()
            .map(|c| (c.date.to_string(), c.actual))
            .collect();
        assert_eq!(
            got,
            [("2026-09-02".to_string(), 1), ("2026-09-03".to_string(), 0)]
        );
        let returns = [hold("2026-09-02", -4)];
        assert!(
            plan_holds(est, &returns, Some(&pool)).is_ok(),
            "returns are never short"
        );
    }
}
