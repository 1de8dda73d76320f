//! Domain events: what every change tells the systems that follow it.
//!
//! A plan that changes state also plans its event(s) ([`Change::Event`]); the store
//! writes all the events of one plan as ONE item of the plan's transaction (the
//! outbox), so there is no event without its change and no change without its event.
//! The item's id is a UUIDv7 minted when the transaction is built (the time it
//! names orders the feed); event `i` of the item has the item's id with its low 16
//! bits set to `i` ([`event_id`]).
//!
//! The feed (`GET /v1/events`) reads an establishment's items day by day (one
//! partition per establishment and UTC day of the id) in id order, and serves only
//! items whose id is older than the settle delay ([`DEFAULT_SETTLE_SECONDS`]): an
//! item can commit after an item with a later id (ids are minted before the commit),
//! but never later than the settle delay after its own id, so a reader that never
//! moves past `now - settle` never skips one. [`FeedPosition`] is where a reader is.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::allotment::{AllocationEntry, AllotmentView};
use super::establishment::{instant, Establishment};
use super::group::GroupView;
use super::pickup::PickupView;
use super::plan::Change;

/// Events are served for this many days after their id's time; a cursor older than
/// that is `410 CURSOR_EXPIRED`.
pub const RETENTION_DAYS: i64 = 7;

/// An event item expires (DynamoDB TTL) this many days after its id's time: the
/// retention and a day of margin (TTL deletes no earlier than the time it names).
pub const EXPIRY_DAYS: i64 = RETENTION_DAYS + 1;

/// The feed serves an item only once its id is this old. A transaction's id is
/// minted just before its first send; the store sends it at most 5 times, each send
/// bounded by the SDK's 4 s operation timeout, with pauses of at most 375 ms in all
/// (`store::Store::transact`), so the client gives up on it at most 20.4 s after the
/// id's time. 60 s leaves the service time to finish a send the client gave up on
/// and covers any difference between the clocks of two hosts (Lambda hosts are kept
/// within a millisecond by the Amazon Time Sync Service).
pub const DEFAULT_SETTLE_SECONDS: u64 = 60;

/// At most this many events in one item (the low 16 bits of an event id).
pub const MAX_EVENTS_PER_ITEM: usize = 1 << 16;

macro_rules! event_types {
    ($($variant:ident = $text:literal),+ $(,)?) => {
        /// The type of an event, as the feed names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum EventType {
            $(#[serde(rename = $text)] $variant,)+
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $text,)+
                }
            }

            pub fn parse(s: &str) -> Option<EventType> {
                match s {
                    $($text => Some(EventType::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

event_types! {
    EstablishmentUpdated = "establishment.updated",
    InventoryChanged = "inventory.changed",
    AllotmentCreated = "allotment.created",
    AllotmentUpdated = "allotment.updated",
    AllotmentConfirmed = "allotment.confirmed",
    AllotmentReleased = "allotment.released",
    AllotmentCancelled = "allotment.cancelled",
    AllocationChanged = "allocation.changed",
    PickupCreated = "pickup.created",
    PickupCancelled = "pickup.cancelled",
    CapacityGroupCreated = "capacity_group.created",
    CapacityGroupUpdated = "capacity_group.updated",
    CapacityGroupReleased = "capacity_group.released",
    CapacityGroupDeleted = "capacity_group.deleted",
}

/// What an event is about. `sequence` increases strictly per subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    Establishment,
    Allotment,
    Pickup,
    CapacityGroup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    #[serde(rename = "type")]
    pub kind: SubjectType,
    pub id: Uuid,
}

/// `data` of an event: the subject's representation after the change, or the change
/// itself (inventory, allocation, releases, a delete).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EventData {
    Establishment(Establishment),
    Inventory(InventoryChanged),
    Allotment(Box<AllotmentView>),
    Released(Box<AllotmentReleased>),
    Allocation(AllocationEntry),
    Pickup(Box<PickupView>),
    Group(Box<GroupView>),
    GroupReleased(Box<GroupReleased>),
    GroupDeleted(GroupDeleted),
}

/// `data` of `inventory.changed`: the capacity set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryChanged {
    pub unit_type_id: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub capacity: i64,
    pub nights: i64,
}

/// Nights of a release, `from` to `to` (consecutive nights of one unit type released
/// alike, so that the release of 731 nights × 50 unit types is 50 entries, not
/// 36,550): on each, `quantity` rooms went back to the pool, `allocated` stay (those
/// picked up from the allotment's own allocation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleasedNight {
    pub unit_type_id: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub quantity: i64,
    pub allocated: i64,
    #[serde(serialize_with = "instant")]
    pub released_at: DateTime<Utc>,
}

/// `data` of `allotment.released`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllotmentReleased {
    /// `cutoff` or `manual`.
    pub reason: &'static str,
    pub nights: Vec<ReleasedNight>,
    pub allotment: AllotmentView,
}

/// Nights `from`–`to` of a unit type released alike by a group: on each, `quantity`
/// unused rooms went back to the pool, `shared` stay (the rooms in use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupReleasedNight {
    pub unit_type_id: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub quantity: i64,
    pub shared: i64,
}

/// `data` of `capacity_group.released`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupReleased {
    pub nights: Vec<GroupReleasedNight>,
    pub capacity_group: GroupView,
}

/// `data` of `capacity_group.deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDeleted {
    pub capacity_group_id: Uuid,
    pub name: String,
}

/// An event as a plan writes it (its id comes with the item that holds it).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    pub establishment_id: Uuid,
    pub subject: Subject,
    pub sequence: i64,
    pub data: EventData,
}

impl Event {
    /// The change that writes this event with the plan's other changes.
    pub fn change(self) -> Change {
        Change::Event(Box::new(self))
    }

    /// An event about the allotment `allotment` (its sequence: the version).
    pub fn allotment(
        event_type: EventType,
        occurred_at: DateTime<Utc>,
        allotment: &super::allotment::AllotmentRecord,
        data: EventData,
    ) -> Change {
        Event {
            event_type,
            occurred_at,
            establishment_id: allotment.establishment_id,
            subject: Subject {
                kind: SubjectType::Allotment,
                id: allotment.allotment_id,
            },
            sequence: allotment.version,
            data,
        }
        .change()
    }

    /// `pickup.created` (sequence 1) or `pickup.cancelled` (sequence 2) of `pickup`.
    pub fn pickup(pickup: &super::pickup::Pickup, establishment_id: Uuid) -> Change {
        let (event_type, sequence, occurred_at) = match pickup.cancelled_at {
            None => (EventType::PickupCreated, 1, pickup.created_at),
            Some(at) => (EventType::PickupCancelled, 2, at),
        };
        Event {
            event_type,
            occurred_at,
            establishment_id,
            subject: Subject {
                kind: SubjectType::Pickup,
                id: pickup.pickup_id,
            },
            sequence,
            data: EventData::Pickup(Box::new(pickup.view())),
        }
        .change()
    }

    /// An event about a capacity group (its sequence: the version).
    pub fn group(
        event_type: EventType,
        occurred_at: DateTime<Utc>,
        group: &super::group::GroupRecord,
        sequence: i64,
        data: EventData,
    ) -> Change {
        Event {
            event_type,
            occurred_at,
            establishment_id: group.establishment_id,
            subject: Subject {
                kind: SubjectType::CapacityGroup,
                id: group.capacity_group_id,
            },
            sequence,
            data,
        }
        .change()
    }

    /// An event about an establishment (its sequence: the establishment's version).
    pub fn establishment(
        event_type: EventType,
        occurred_at: DateTime<Utc>,
        establishment_id: Uuid,
        sequence: i64,
        data: EventData,
    ) -> Change {
        Event {
            event_type,
            occurred_at,
            establishment_id,
            subject: Subject {
                kind: SubjectType::Establishment,
                id: establishment_id,
            },
            sequence,
            data,
        }
        .change()
    }

    /// The event as the feed serves it, under `id`.
    pub fn served(&self, id: Uuid) -> Result<FeedEvent, serde_json::Error> {
        Ok(FeedEvent {
            id,
            event_type: self.event_type,
            occurred_at: self.occurred_at,
            establishment_id: self.establishment_id,
            subject: self.subject,
            sequence: self.sequence,
            data: serde_json::to_value(&self.data)?,
        })
    }
}

/// An event as the feed serves it (and as the event item stores it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedEvent {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: EventType,
    #[serde(serialize_with = "instant")]
    pub occurred_at: DateTime<Utc>,
    pub establishment_id: Uuid,
    pub subject: Subject,
    pub sequence: i64,
    pub data: Value,
}

/// `types` of `GET /v1/events`: a comma-separated list of event types.
pub fn types_rule(v: &Value) -> Result<std::collections::BTreeSet<EventType>, String> {
    let text = v.as_str().unwrap_or("");
    text.split(',')
        .map(EventType::parse)
        .collect::<Option<_>>()
        .ok_or_else(|| {
            let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            format!("must be a comma-separated list of {}", names.join(", "))
        })
}

/// A fresh item id: a UUIDv7 of now (the host's clock) with its low 16 bits clear,
/// so that [`event_id`] of each of its events is a UUIDv7 of the same instant.
pub fn new_item_id() -> Uuid {
    item_of(Uuid::now_v7())
}

/// The id of event `index` of the item `item`.
pub fn event_id(item: Uuid, index: usize) -> Uuid {
    Uuid::from_u128(item.as_u128() | (index as u128 & 0xffff))
}

/// The item an event id belongs to, and the event's place in it.
pub fn item_of(event: Uuid) -> Uuid {
    Uuid::from_u128(event.as_u128() & !0xffff)
}

/// Unix milliseconds of a UUIDv7 (the first 48 bits), `None` for another version.
pub fn id_millis(id: &Uuid) -> Option<i64> {
    (id.get_version_num() == 7).then(|| (id.as_u128() >> 80) as i64)
}

/// The UTC day of unix milliseconds (the feed's partition).
pub fn day_of(millis: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp_millis(millis).map(|t| t.date_naive())
}

/// The first 13 characters of every hyphenated UUIDv7 of the millisecond `millis`:
/// `0190abcd-1234`. Every id of an earlier millisecond sorts before it, every id of
/// this millisecond or a later one after it.
pub fn millis_prefix(millis: i64) -> String {
    let m = millis.max(0) as u64;
    format!("{:08x}-{:04x}", m >> 16, m & 0xffff)
}

/// Where a reader of an establishment's feed is: every event before it was served
/// (or filtered out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedPosition {
    /// Every item whose id's time is before this instant (unix milliseconds).
    Before(i64),
    /// The first `served` events of the item `item`, and every item before it.
    Within { item: Uuid, served: usize },
}

impl FeedPosition {
    /// The instant (unix milliseconds) from which items may still be unread.
    pub fn millis(&self) -> i64 {
        match self {
            FeedPosition::Before(m) => *m,
            FeedPosition::Within { item, .. } => id_millis(item).unwrap_or(0),
        }
    }

    /// The text a cursor carries.
    pub fn encode(&self) -> String {
        match self {
            FeedPosition::Before(m) => format!("{m}"),
            FeedPosition::Within { item, served } => format!("{item}.{served}"),
        }
    }

    /// A position encoded by [`Self::encode`].
    pub fn parse(s: &str) -> Option<FeedPosition> {
        match s.split_once('.') {
            None => s.parse().ok().map(FeedPosition::Before),
            Some((item, served)) => {
                let item = Uuid::parse_str(item).ok()?;
                id_millis(&item)?;
                Some(FeedPosition::Within {
                    item,
                    served: served.parse().ok()?,
                })
            }
        }
    }

    /// The position after `self`'s and `other`'s: the later one (a reader never goes
    /// back).
    pub fn later(self, other: FeedPosition) -> FeedPosition {
        let key = |p: &FeedPosition| match p {
            // `Before(m)` is before every item of the millisecond `m`.
            FeedPosition::Before(m) => (*m, 0u128, 0usize),
            FeedPosition::Within { item, served } => {
                (id_millis(item).unwrap_or(0), item.as_u128(), *served + 1)
            }
        };
        if key(&other) > key(&self) {
            other
        } else {
            self
        }
    }
}

/// Where a feed read starts and what it may serve, at `now_millis` (the host clock)
/// with the settle delay `settle_millis`: `Err` when the position is older than the
/// retention (`410`). A read without a position starts at the retention's start.
pub fn feed_window(
    position: Option<FeedPosition>,
    now_millis: i64,
    settle_millis: i64,
) -> Result<(FeedPosition, i64), super::error::ApiError> {
    let oldest = now_millis - RETENTION_DAYS * 86_400_000;
    let start = match position {
        None => FeedPosition::Before(oldest),
        Some(p) if p.millis() < oldest => return Err(super::error::ApiError::CursorExpired),
        Some(p) => p,
    };
    Ok((start, now_millis - settle_millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v7(millis: i64) -> Uuid {
        let millis = millis as u64;
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            millis / 1000,
            (millis % 1000) as u32 * 1_000_000,
        );
        item_of(Uuid::new_v7(ts))
    }

    #[test]
    fn event_types_round_trip_their_names() {
        assert_eq!(EventType::ALL.len(), 14);
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                Value::String(t.as_str().into())
            );
        }
        assert_eq!(EventType::parse("pickup.deleted"), None);
        let both = types_rule(&Value::String("pickup.created,allotment.released".into()));
        assert_eq!(
            both.unwrap().into_iter().collect::<Vec<_>>(),
            [EventType::AllotmentReleased, EventType::PickupCreated]
        );
        for bad in ["", "pickup", "pickup.created,", "PICKUP.CREATED"] {
            assert!(types_rule(&Value::String(bad.into())).is_err(), "{bad}");
        }
        let s = Subject {
            kind: SubjectType::CapacityGroup,
            id: Uuid::nil(),
        };
        assert_eq!(
            serde_json::to_value(s).unwrap(),
            serde_json::json!({"type": "capacity_group", "id": Uuid::nil()})
        );
    }

    #[test]
    fn event_ids_are_v7_of_their_item_and_sort_by_time() {
        let item = new_item_id();
        assert_eq!(item.get_version_num(), 7);
        for i in [0, 1, 7, 65_535] {
            let e = event_id(item, i);
            assert_eq!(e.get_version_num(), 7, "{i}");
            assert_eq!(item_of(e), item);
            assert_eq!(id_millis(&e), id_millis(&item));
        }
        assert!(event_id(item, 1) > event_id(item, 0));
        let (a, b) = (v7(1_780_000_000_000), v7(1_780_000_000_001));
        assert!(a.to_string() < b.to_string());
        assert_eq!(id_millis(&a), Some(1_780_000_000_000));
        assert_eq!(id_millis(&Uuid::new_v4()), None);
    }

    #[test]
    fn the_millisecond_prefix_splits_ids_by_time() {
        let m = 1_780_000_000_123;
        let p = millis_prefix(m);
        assert_eq!(p.len(), 13);
        for (id, after) in [(v7(m - 1), false), (v7(m), true), (v7(m + 1), true)] {
            assert_eq!(id.to_string().as_str() > p.as_str(), after, "{id}");
        }
        assert!(v7(m).to_string().starts_with(&p));
        assert_eq!(day_of(m).unwrap().to_string(), "2026-05-28");
    }

    #[test]
    fn positions_round_trip_and_never_go_back() {
        let item = v7(1_780_000_000_000);
        let cases = [
            FeedPosition::Before(1_780_000_000_000),
            FeedPosition::Within { item, served: 3 },
        ];
        for p in cases {
            assert_eq!(FeedPosition::parse(&p.encode()), Some(p));
        }
        for bad in ["", "x", "1.2", &format!("{}.1", Uuid::new_v4()), "abc.def"] {
            assert_eq!(FeedPosition::parse(bad), None, "{bad}");
        }
        let within = FeedPosition::Within { item, served: 1 };
        let before_it = FeedPosition::Before(1_780_000_000_000);
        let after_it = FeedPosition::Before(1_780_000_000_001);
        assert_eq!(within.later(before_it), within);
        assert_eq!(before_it.later(within), within);
        assert_eq!(within.later(after_it), after_it);
        let more = FeedPosition::Within { item, served: 2 };
        assert_eq!(within.later(more), more);
    }

    #[test]
    fn the_window_starts_at_the_retention_and_ends_at_the_settle_horizon() {
        let now = 1_780_000_000_000;
        let day = 86_400_000;
        let (start, horizon) = feed_window(None, now, 60_000).unwrap();
        assert_eq!(start, FeedPosition::Before(now - 7 * day));
        assert_eq!(horizon, now - 60_000);
        let kept = FeedPosition::Before(now - 7 * day);
        assert_eq!(feed_window(Some(kept), now, 0).unwrap().0, kept);
        let old = FeedPosition::Within {
            item: v7(now - 7 * day - 1),
            served: 0,
        };
        assert_eq!(
            feed_window(Some(old), now, 0).unwrap_err().code(),
            "CURSOR_EXPIRED"
        );
    }
}
