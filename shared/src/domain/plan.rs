//! A command's plan: everything one write changes, decided here, in the domain.
//!
//! Every write command has the same shape: load what the rule needs, call a pure
//! `plan_*` function of this module's siblings, hand the [`Plan`] to
//! `Store::apply`, which turns it into ONE conditional `TransactWriteItems` (see
//! `crate::command::execute` for the load → plan → apply loop). A plan names the next
//! records with the guards they need (the versions read), the night changes of the
//! grids and of the pool, the new items (pickups, history), and nothing else: the
//! store maps it to items and decides nothing.
//!
//! Conditions that follow from a change itself are part of what a change means and
//! are the same everywhere:
//! - a delta never drives a counter below zero: taking rooms (`> 0`) requires what is
//!   left (`available`, `remaining`) to cover them, giving back requires them to be
//!   held (`allotted`, `pickedUp`);
//! - a record written with [`Guard::New`] must not exist, with [`Guard::Version`] must
//!   still have the version read (every change of it moves the version, so nothing
//!   interleaves);
//! - an allotment's grid month written whole must still have the revision read
//!   ([`GridStamp`]): pickups move only the months they touch, never the header, so
//!   that pickups of one allotment meet only where their nights meet.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use uuid::Uuid;

use super::allotment::{AllocationEntry, AllotmentRecord, GridNight};
use super::dates::Month;
use super::establishment::Establishment;
use super::event::Event;
use super::group::{GroupNight, GroupRecord};
use super::idempotency::{Intent, StoredResponse};
use super::ids::UnitTypeId;
use super::pickup::Pickup;

/// Nights by unit type then date: an allotment's grid, a group's, a pool view.
pub type Nights<N> = BTreeMap<(UnitTypeId, NaiveDate), N>;

/// Everything one command changes, applied all or nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn new() -> Self {
        Plan::default()
    }

    pub fn push(&mut self, change: Change) {
        if !change.is_empty() {
            self.changes.push(change);
        }
    }

    pub fn with(mut self, change: Change) -> Self {
        self.push(change);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// How many transaction items the plan becomes (see `Store::apply`), for a rule
    /// that must keep a command within one transaction. Its events are one item per
    /// establishment (each establishment's feed has its own partitions).
    pub fn items(&self) -> usize {
        let feeds = self
            .events()
            .map(|e| e.establishment_id)
            .collect::<BTreeSet<_>>()
            .len();
        self.changes.iter().map(Change::items).sum::<usize>() + feeds
    }

    /// The events the plan writes (with its changes, in one item).
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.changes.iter().filter_map(|c| match c {
            Change::Event(e) => Some(e.as_ref()),
            _ => None,
        })
    }
}

/// What a record written whole requires of the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// It does not exist yet.
    New,
    /// Its version is still the one read.
    Version(i64),
}

/// What an establishment write requires of the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EstablishmentGuard {
    New,
    Exists,
    /// A time-zone change: it exists and holds no active allotment or group.
    ExistsWithoutHolds,
}

/// What every grid month of an allotment written whole carries, so that a pickup
/// needs no item but its nights' months:
/// - the revision: each write of a month moves it (pickups and their cancels too); a
///   month written whole must still have the one read (`revisions`, absent: 0 or
///   never written), so no pickup that committed after the read is overwritten;
/// - whether the allotment takes pickups (active and contractual): a month of one that
///   does not (tentative, cancelled, released) is marked `closed`, which a pickup's
///   condition refuses. A command that changes it writes every month of the grid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GridStamp {
    pub revisions: BTreeMap<Month, i64>,
    pub takes_pickups: bool,
}

/// One month item of a grid (allotment or group) to write.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthWrite<N> {
    pub month: Month,
    /// The month holds nothing yet: the item is created whole.
    pub new_item: bool,
    pub units: Vec<UnitWrite<N>>,
}

/// The nights of one unit type in a [`MonthWrite`].
#[derive(Debug, Clone, PartialEq)]
pub struct UnitWrite<N> {
    pub unit: UnitTypeId,
    /// The month holds no night of this unit type yet: written as a whole map.
    pub new_unit: bool,
    pub nights: Vec<(NaiveDate, N)>,
}

/// The month writes that set `changed` nights over a grid that holds `current`.
pub fn month_writes<N: Clone>(current: &Nights<N>, changed: &Nights<N>) -> Vec<MonthWrite<N>> {
    let held_months: BTreeSet<Month> = current.keys().map(|(_, d)| Month::of(*d)).collect();
    let held_units: BTreeSet<(&UnitTypeId, Month)> =
        current.keys().map(|(u, d)| (u, Month::of(*d))).collect();
    type ByUnit<'a, N> = BTreeMap<&'a UnitTypeId, Vec<(NaiveDate, N)>>;
    let mut by_month: BTreeMap<Month, ByUnit<N>> = BTreeMap::new();
    for ((u, d), n) in changed {
        by_month
            .entry(Month::of(*d))
            .or_default()
            .entry(u)
            .or_default()
            .push((*d, n.clone()));
    }
    by_month
        .into_iter()
        .map(|(month, units)| MonthWrite {
            month,
            new_item: !held_months.contains(&month),
            units: units
                .into_iter()
                .map(|(u, nights)| UnitWrite {
                    unit: u.clone(),
                    new_unit: !held_units.contains(&(u, month)),
                    nights,
                })
                .collect(),
        })
        .collect()
}

/// [`month_writes`] with each unit type of a month that exists written whole
/// (`n.<unit>` = every night it has in the month, `changed` over `current`): one `SET`
/// per unit type keeps the update of 50 unit types × 31 nights within DynamoDB's 4 KB
/// expression limit. Exact only under a guard that no write of those months came
/// after the read (an allotment's month revisions, a group's version).
pub fn whole_unit_writes<N: Clone>(current: &Nights<N>, changed: &Nights<N>) -> Vec<MonthWrite<N>> {
    let mut next = current.clone();
    next.extend(changed.iter().map(|(k, n)| (k.clone(), n.clone())));
    let mut months = month_writes(current, changed);
    for m in months.iter_mut().filter(|m| !m.new_item) {
        for u in &mut m.units {
            let from = (u.unit.clone(), m.month.first_day());
            let to = (u.unit.clone(), m.month.last_day());
            u.nights = next
                .range(from..=to)
                .map(|((_, d), n)| (*d, n.clone()))
                .collect();
            u.new_unit = true;
        }
    }
    months
}

/// How a pickup or its cancel moves one night of an allotment's grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridDelta {
    pub date: NaiveDate,
    /// Added to `pickedUp`.
    pub picked_up: i64,
    /// Added to `fromGroup` (the part of `picked_up` the group supplies).
    pub from_group: i64,
    /// Added to `allocated`.
    pub allocated: i64,
    /// The night was read released (a cancel giving rooms back to the pool); any
    /// other delta requires the night unreleased.
    pub released: bool,
}

impl GridDelta {
    /// Own rooms taken (> 0) or given back (< 0).
    pub fn own(&self) -> i64 {
        self.picked_up - self.from_group
    }

    /// Added to `remaining` (`allocated - (pickedUp - fromGroup)`).
    pub fn remaining(&self) -> i64 {
        self.allocated - self.own()
    }
}

/// How a pickup (or its cancel) moves one night of a group's grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupDelta {
    pub date: NaiveDate,
    /// Added to `used`.
    pub used: i64,
    /// Added to `shared`.
    pub shared: i64,
}

/// A change of one pool night: rooms allotted (+ taken, - returned) and picked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolDelta {
    pub unit: UnitTypeId,
    pub date: NaiveDate,
    pub allotted: i64,
    pub picked_up: i64,
}

impl PoolDelta {
    pub fn allot(unit: &UnitTypeId, date: NaiveDate, allotted: i64) -> Self {
        PoolDelta {
            unit: unit.clone(),
            date,
            allotted,
            picked_up: 0,
        }
    }
}

/// One item (or, for grids and the pool, one item per month) of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The allotment's header, written whole.
    Allotment {
        record: Box<AllotmentRecord>,
        guard: Guard,
    },
    /// Nights of an allotment's grid set to new values; every month written carries
    /// `stamp`.
    AllotmentNights {
        allotment_id: Uuid,
        months: Vec<MonthWrite<GridNight>>,
        stamp: GridStamp,
    },
    /// Night counters of one unit type moved by a pickup or its cancel, in the months
    /// of its nights only (no header: see [`GridStamp`]). Taking rooms requires the
    /// months to take pickups; `active_pickups` (+1 a pickup, -1 its cancel) is
    /// counted on the month of the first night, every month's revision moves.
    AllotmentNightDeltas {
        allotment_id: Uuid,
        unit: UnitTypeId,
        nights: Vec<GridDelta>,
        active_pickups: i64,
    },
    /// The history entries one change wrote (item `H#<version>`, never overwritten;
    /// a history too big for one item is stored in parts, part `k > 0` under
    /// `H#<version>#<k>`: see `domain::steps::history_parts`).
    History {
        allotment_id: Uuid,
        version: i64,
        part: u32,
        entries: Vec<AllocationEntry>,
    },
    /// Pool nights of an establishment. `holder`: the allotment these rooms are
    /// allotted to, listed in every bucket where it takes rooms (`al`), so a read of
    /// the pool finds the grids whose `pickedUp` it sums (pickups never write the
    /// pool: see `Store::read_pool`).
    Pool {
        establishment_id: Uuid,
        holder: Option<Uuid>,
        nights: Vec<PoolDelta>,
    },
    /// The capacity of one unit type on some nights of one month, never below what is
    /// allotted. `new_bucket`: the month has no bucket yet (created with every other
    /// night at zero, which reads exactly like a night never set).
    Capacity {
        establishment_id: Uuid,
        unit: UnitTypeId,
        month: Month,
        nights: Vec<NaiveDate>,
        capacity: i64,
        new_bucket: bool,
    },
    /// An establishment's profile, written as its `version` (the one read + 1: it
    /// must still have the one read).
    Establishment {
        record: Establishment,
        guard: EstablishmentGuard,
        version: i64,
    },
    /// The count of an establishment's active allotments and groups (which freezes its
    /// time zone); also requires the establishment to exist.
    EstablishmentHolds { establishment_id: Uuid, delta: i64 },
    /// A pickup: new, or (its cancel) replacing the active one.
    Pickup {
        pickup: Box<Pickup>,
        guard: PickupGuard,
    },
    /// A group's header, written whole (its `activeDraws` as read).
    Group {
        record: Box<GroupRecord>,
        active_draws: i64,
        guard: Guard,
    },
    /// A group's header counters when a pickup draws on it (or its cancel):
    /// `version + 1`, `activeDraws + draws`.
    /// A draw names the allotment drawing (`member`): the header must still list it
    /// (a member given up, or one claimed by a change not yet committed, draws nothing).
    GroupCounters {
        group_id: Uuid,
        draws: i64,
        member: Option<Uuid>,
    },
    /// Nights of a group's grid set to new values.
    GroupNights {
        group_id: Uuid,
        months: Vec<MonthWrite<GroupNight>>,
    },
    /// Night counters of one unit type of a group moved by a pickup or its cancel.
    GroupNightDeltas {
        group_id: Uuid,
        unit: UnitTypeId,
        nights: Vec<GroupDelta>,
    },
    /// A group's name within its establishment: taken (it must be free) or freed.
    GroupName {
        establishment_id: Uuid,
        name: String,
        taken_by: Option<Uuid>,
    },
    /// An allotment's membership of a group: claimed (it must belong to none) or
    /// given up (it must still be this group's).
    Membership {
        allotment_id: Uuid,
        group_id: Uuid,
        claim: bool,
    },
    /// A group's header deleted (at the version read).
    DeleteGroup { group_id: Uuid, version: i64 },
    /// Grid months of a deleted group deleted.
    GroupNightsGone { group_id: Uuid, months: Vec<Month> },
    /// The record of a keyed request: the response it gives, written with its effect
    /// if the key is free (never used, expired, or an abandoned lock of the earlier
    /// design). Always the last change of a plan.
    Idempotency {
        intent: Intent,
        response: StoredResponse,
    },
    /// An establishment's version moved to `version` (it must exist and still have
    /// `version - 1`): an inventory change, the sequence of its event.
    EstablishmentVersion {
        establishment_id: Uuid,
        version: i64,
    },
    /// A domain event of the change (all the events of a plan are written as one
    /// item of its transaction: see `domain::event`).
    Event(Box<Event>),
}

/// What a pickup write requires of the stored pickup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickupGuard {
    New,
    /// It is still active (a cancel).
    Active,
}

impl Change {
    /// A change that changes nothing (no night, no entry) is left out of a plan.
    pub fn is_empty(&self) -> bool {
        match self {
            Change::AllotmentNights { months, .. } => months.is_empty(),
            Change::GroupNights { months, .. } => months.is_empty(),
            Change::AllotmentNightDeltas { nights, .. } => nights.is_empty(),
            Change::GroupNightDeltas { nights, .. } => nights.is_empty(),
            Change::History { entries, .. } => entries.is_empty(),
            Change::Pool { nights, .. } => {
                nights.iter().all(|n| n.allotted == 0 && n.picked_up == 0)
            }
            Change::Capacity { nights, .. } => nights.is_empty(),
            Change::GroupNightsGone { months, .. } => months.is_empty(),
            _ => false,
        }
    }

    /// How many transaction items this change becomes: one per month of a grid, one
    /// per unit type and month of the pool, one per record.
    pub fn items(&self) -> usize {
        fn months<T>(items: &[T], date: impl Fn(&T) -> NaiveDate) -> usize {
            items
                .iter()
                .map(|i| Month::of(date(i)))
                .collect::<BTreeSet<_>>()
                .len()
        }
        match self {
            Change::AllotmentNights { months, .. } => months.len(),
            Change::GroupNights { months, .. } => months.len(),
            Change::AllotmentNightDeltas { nights, .. } => months(nights, |n| n.date),
            Change::GroupNightDeltas { nights, .. } => months(nights, |n| n.date),
            Change::Pool { nights, .. } => nights
                .iter()
                .filter(|n| n.allotted != 0 || n.picked_up != 0)
                .map(|n| (&n.unit, Month::of(n.date)))
                .collect::<BTreeSet<_>>()
                .len(),
            Change::GroupNightsGone { months, .. } => months.len(),
            // Counted once per plan (`Plan::items`).
            Change::Event(_) => 0,
            _ => 1,
        }
    }
}

/// Plans of several commands (of one tenant) applied as ONE transaction: each part's
/// own changes, in order, then the changes parts share merged into one per item — the
/// pool nights of an establishment summed per night (one bucket item per unit type and
/// month), its holds summed. Two changes of one item cannot share a transaction, and
/// summed deltas keep their meaning: every part's guard still holds or the whole
/// transaction is refused (see [`Merged::owners`] to tell which part moved).
///
/// A kind of change that several parts write to one item (a per-transaction item such
/// as an event log) is merged here: add it to [`SharedItem`] and [`merge`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Merged {
    pub plan: Plan,
    /// For each change of `plan`, the part it came from; `None` for a merged change
    /// several parts wrote to.
    pub owners: Vec<Option<usize>>,
}

/// An item several parts of a [`Merged`] plan may write: it is written once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SharedItem {
    /// A pool bucket: establishment, unit type, month.
    Pool(Uuid, UnitTypeId, Month),
    /// An establishment's holds counter.
    Holds(Uuid),
    /// The item holding the transaction's events of an establishment.
    Events(Uuid),
}

impl Change {
    /// The items a change writes that other parts of a merged plan may write too
    /// (`None`: the change is the part's own, counted by [`Change::items`]).
    pub fn shared_items(&self) -> Option<Vec<SharedItem>> {
        match self {
            Change::Pool {
                establishment_id,
                nights,
                ..
            } => Some(
                nights
                    .iter()
                    .filter(|n| n.allotted != 0 || n.picked_up != 0)
                    .map(|n| SharedItem::Pool(*establishment_id, n.unit.clone(), Month::of(n.date)))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            ),
            Change::EstablishmentHolds {
                establishment_id, ..
            } => Some(vec![SharedItem::Holds(*establishment_id)]),
            Change::Event(e) => Some(vec![SharedItem::Events(e.establishment_id)]),
            _ => None,
        }
    }
}

/// Merges `parts` (see [`Merged`]). Pool deltas that sum to nothing and holds that do
/// not move are left out.
pub fn merge(parts: &[&Plan]) -> Merged {
    let mut out = Merged::default();
    /// Per establishment: its summed pool nights, and the parts that moved them.
    type Pools = BTreeMap<Uuid, (Nights<PoolDelta>, BTreeSet<usize>)>;
    let mut pools = Pools::new();
    let mut holds: BTreeMap<Uuid, (i64, BTreeSet<usize>)> = BTreeMap::new();
    for (i, part) in parts.iter().enumerate() {
        for change in &part.changes {
            match change {
                // A delta that lists its allotment in the bucket stays the part's own.
                Change::Pool {
                    establishment_id,
                    nights,
                    holder: None,
                } => {
                    let (sum, by) = pools.entry(*establishment_id).or_default();
                    by.insert(i);
                    for n in nights {
                        let d = sum
                            .entry((n.unit.clone(), n.date))
                            .or_insert_with(|| PoolDelta::allot(&n.unit, n.date, 0));
                        d.allotted += n.allotted;
                        d.picked_up += n.picked_up;
                    }
                }
                Change::EstablishmentHolds {
                    establishment_id,
                    delta,
                } => {
                    let (sum, by) = holds.entry(*establishment_id).or_default();
                    *sum += delta;
                    by.insert(i);
                }
                own => {
                    out.plan.changes.push(own.clone());
                    out.owners.push(Some(i));
                }
            }
        }
    }
    let owner = |by: &BTreeSet<usize>| match (by.len(), by.first()) {
        (1, Some(i)) => Some(*i),
        _ => None,
    };
    for (establishment_id, (nights, by)) in pools {
        let change = Change::Pool {
            establishment_id,
            nights: nights.into_values().collect(),
            holder: None,
        };
        if !change.is_empty() {
            out.plan.changes.push(change);
            out.owners.push(owner(&by));
        }
    }
    for (establishment_id, (delta, by)) in holds {
        if delta != 0 {
            out.plan.changes.push(Change::EstablishmentHolds {
                establishment_id,
                delta,
            });
            out.owners.push(owner(&by));
        }
    }
    out
}

/// Cuts `parts`, in their order, into consecutive runs whose merged plan holds at most
/// `limit` items (a part that alone holds more is a run of its own): the caller orders
/// the parts so that those sharing items (one establishment's) are neighbours.
pub fn pack(parts: &[&Plan], limit: usize) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let (mut start, mut own, mut shared) = (0, 0, BTreeSet::new());
    for (i, part) in parts.iter().enumerate() {
        let mut part_own = 0;
        let mut part_shared = Vec::new();
        for change in &part.changes {
            match change.shared_items() {
                Some(items) => part_shared.extend(items),
                None => part_own += change.items(),
            }
        }
        let added = part_shared.iter().filter(|s| !shared.contains(*s)).count();
        if i > start && own + shared.len() + part_own + added > limit {
            runs.push(start..i);
            (start, own) = (i, 0);
            shared.clear();
        }
        own += part_own;
        shared.extend(part_shared);
    }
    if start < parts.len() {
        runs.push(start..parts.len());
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::dates::parse_date;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn u(s: &str) -> UnitTypeId {
        UnitTypeId::parse(s).unwrap()
    }

    #[test]
    fn month_writes_mark_new_items_and_new_units() {
        let mut current: Nights<i64> = Nights::new();
        current.insert((u("dbl"), d("2026-09-30")), 1);
        let mut changed: Nights<i64> = Nights::new();
        changed.insert((u("dbl"), d("2026-09-30")), 2);
        changed.insert((u("sgl"), d("2026-09-29")), 3);
        changed.insert((u("dbl"), d("2026-10-01")), 4);
        let w = month_writes(&current, &changed);
        assert_eq!(w.len(), 2);
        assert!(!w[0].new_item, "September is held");
        assert_eq!(
            w[0].units
                .iter()
                .map(|x| (x.unit.as_str(), x.new_unit))
                .collect::<Vec<_>>(),
            [("dbl", false), ("sgl", true)]
        );
        assert!(w[1].new_item, "October is not");
        assert!(w[1].units[0].new_unit);
        assert_eq!(w[1].units[0].nights, [(d("2026-10-01"), 4)]);
    }

    #[test]
    fn empty_changes_are_left_out() {
        let mut p = Plan::new();
        p.push(Change::Pool {
            establishment_id: Uuid::nil(),
            holder: None,
            nights: vec![PoolDelta::allot(&u("dbl"), d("2026-09-01"), 0)],
        });
        p.push(Change::History {
            allotment_id: Uuid::nil(),
            version: 2,
            part: 0,
            entries: vec![],
        });
        assert!(p.is_empty());
        p.push(Change::EstablishmentHolds {
            establishment_id: Uuid::nil(),
            delta: 1,
        });
        assert_eq!(p.changes.len(), 1);
    }

    #[test]
    fn grid_delta_keeps_remaining_in_step() {
        let take = GridDelta {
            date: d("2026-09-01"),
            picked_up: 3,
            from_group: 1,
            allocated: 0,
            released: false,
        };
        assert_eq!((take.own(), take.remaining()), (2, -2));
        // A cancel on a released night: the own rooms leave the allocation too.
        let cancel = GridDelta {
            date: d("2026-09-01"),
            picked_up: -3,
            from_group: -1,
            allocated: -2,
            released: true,
        };
        assert_eq!((cancel.own(), cancel.remaining()), (-2, 0));
    }
}
