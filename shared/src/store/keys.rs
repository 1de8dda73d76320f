//! Item keys of the single table. Every tenant-owned item's partition key starts
//! with the tenant (`T#<tenant>#...`), so no key built from a request can reach
//! another tenant's items.
//!
//! | item | PK | SK | GSI1PK / GSI1SK |
//! |---|---|---|---|
//! | tenant | `T#<t>` | `TENANT` | |
//! | API key | `KEY#<keyId>` | `KEY` | `T#<t>#KEYS` / `KEY#<keyId>` |
//! | establishment | `T#<t>#E#<id>` | `EST` | |
//! | pool month | `T#<t>#E#<id>` | `POOL#<unitType>#<YYYY-MM>` | |
//! | allotment header | `T#<t>#A#<id>` | `A` | `T#<t>#E#<est>#A` / `<periodFrom>#<id>` |
//! | allotment grid month | `T#<t>#A#<id>` | `G#<YYYY-MM>` | |
//! | allotment history | `T#<t>#A#<id>` | `H#<version>` | |
//! | pickup | `T#<t>#A#<id>` | `P#<pickupId (UUIDv7)>` | |
//! | membership | `T#<t>#A#<id>` | `GROUP` (→ groupId) | |
//! | group header | `T#<t>#G#<id>` | `G` | `T#<t>#E#<est>#G` / `<name>#<id>` |
//! | group grid month | `T#<t>#G#<id>` | `M#<YYYY-MM>` | |
//! | group name | `T#<t>#E#<est>` | `GNAME#<name>` | |
//! | event item (the events of one command) | `T#<t>#EV#<est>#<YYYY-MM-DD>` (UTC day of the id) | `EV#<itemId (UUIDv7)>` | |

use uuid::Uuid;

use crate::domain::dates::Month;
use crate::domain::ids::{TenantId, UnitTypeId};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";

pub fn tenant(t: &TenantId) -> (String, String) {
    (format!("T#{t}"), "TENANT".into())
}

pub fn api_key(key_id: &str) -> (String, String) {
    (format!("KEY#{key_id}"), "KEY".into())
}

pub fn tenant_keys_index(t: &TenantId, key_id: &str) -> (String, String) {
    (format!("T#{t}#KEYS"), format!("KEY#{key_id}"))
}

pub fn establishment_pk(t: &TenantId, est: Uuid) -> String {
    format!("T#{t}#E#{est}")
}

pub fn establishment(t: &TenantId, est: Uuid) -> (String, String) {
    (establishment_pk(t, est), "EST".into())
}

pub const POOL_PREFIX: &str = "POOL#";

pub fn pool_sk_prefix(ut: &UnitTypeId) -> String {
    format!("{POOL_PREFIX}{ut}#")
}

pub fn pool(t: &TenantId, est: Uuid, ut: &UnitTypeId, month: Month) -> (String, String) {
    (
        establishment_pk(t, est),
        format!("{}{}", pool_sk_prefix(ut), month.key()),
    )
}

pub fn allotment(t: &TenantId, id: Uuid) -> (String, String) {
    (format!("T#{t}#A#{id}"), "A".into())
}

pub fn allotment_grid(t: &TenantId, id: Uuid, month: Month) -> (String, String) {
    (format!("T#{t}#A#{id}"), format!("G#{}", month.key()))
}

/// History items sort by the header version that wrote them.
pub fn allotment_history(t: &TenantId, id: Uuid, version: i64) -> (String, String) {
    (format!("T#{t}#A#{id}"), format!("H#{version:012}"))
}

/// Part `part` of a history too big for one item (part 0: [`allotment_history`]).
pub fn allotment_history_part(t: &TenantId, id: Uuid, version: i64, part: u32) -> (String, String) {
    let (pk, sk) = allotment_history(t, id, version);
    match part {
        0 => (pk, sk),
        k => (pk, format!("{sk}#{k:03}")),
    }
}

/// The record of a plan applied in steps (`store::steps`), under the allotment.
pub fn allotment_steps(t: &TenantId, id: Uuid) -> (String, String) {
    (format!("T#{t}#A#{id}"), "STEPS".into())
}

/// The record of step `n` of a run of steps, `phase` `P` (a prepare step's inverse)
/// or `F` (a forward step).
pub fn allotment_step(
    t: &TenantId,
    id: Uuid,
    run: &str,
    phase: char,
    n: usize,
) -> (String, String) {
    let (pk, prefix) = allotment_step_prefix(t, id, run, phase);
    (pk, format!("{prefix}{n:04}"))
}

/// The sort key prefix of the records of one phase of a run of steps.
pub fn allotment_step_prefix(t: &TenantId, id: Uuid, run: &str, phase: char) -> (String, String) {
    (format!("T#{t}#A#{id}"), format!("STEP#{run}#{phase}#"))
}

/// GSI1 keys listing an establishment's allotments by `periodFrom`, then id.
pub fn allotment_index(
    t: &TenantId,
    est: Uuid,
    period_from: chrono::NaiveDate,
    id: Uuid,
) -> (String, String) {
    (
        format!("{}#A", establishment_pk(t, est)),
        format!("{period_from}#{id}"),
    )
}

/// Pickups sort by their UUIDv7 id, that is by creation time.
pub fn pickup(t: &TenantId, allotment: Uuid, pickup: Uuid) -> (String, String) {
    (format!("T#{t}#A#{allotment}"), format!("P#{pickup}"))
}

pub fn group(t: &TenantId, id: Uuid) -> (String, String) {
    (format!("T#{t}#G#{id}"), "G".into())
}

pub fn group_grid(t: &TenantId, id: Uuid, month: Month) -> (String, String) {
    (format!("T#{t}#G#{id}"), format!("M#{}", month.key()))
}

/// One item per name and establishment makes names unique, race-free.
pub fn group_name(t: &TenantId, est: Uuid, name: &str) -> (String, String) {
    (establishment_pk(t, est), format!("GNAME#{name}"))
}

/// An allotment's membership of a capacity group (at most one).
pub fn membership(t: &TenantId, allotment: Uuid) -> (String, String) {
    (format!("T#{t}#A#{allotment}"), "GROUP".into())
}

/// GSI1 keys listing an establishment's groups by name, then id.
pub fn group_index(t: &TenantId, est: Uuid, name: &str, id: Uuid) -> (String, String) {
    (
        format!("{}#G", establishment_pk(t, est)),
        format!("{name}#{id}"),
    )
}

/// The partition of an establishment's events of one UTC day (the day of their id).
pub fn events_partition(t: &TenantId, est: Uuid, day: chrono::NaiveDate) -> String {
    format!("T#{t}#EV#{est}#{day}")
}

pub const EVENT_PREFIX: &str = "EV#";

/// An event item: the events one command wrote, under the item's UUIDv7 id (sort
/// keys sort by time).
pub fn event_item(t: &TenantId, est: Uuid, day: chrono::NaiveDate, item: Uuid) -> (String, String) {
    (
        events_partition(t, est, day),
        format!("{EVENT_PREFIX}{item}"),
    )
}

/// The allotment id of an allotment partition key (`T#<tenant>#A#<id>`).
pub fn parse_allotment_pk(pk: &str) -> Option<Uuid> {
    let (_, id) = pk.rsplit_once("#A#")?;
    Uuid::parse_str(id).ok()
}

/// Splits a pool sort key back into unit type and month.
pub fn parse_pool_sk(sk: &str) -> Option<(UnitTypeId, Month)> {
    let rest = sk.strip_prefix(POOL_PREFIX)?;
    let (ut, month) = rest.rsplit_once('#')?;
    Some((UnitTypeId::parse(ut).ok()?, Month::parse_key(month)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keys_round_trip_and_sort_by_unit_type_then_month() {
        let t = TenantId::parse("acme").unwrap();
        let e = Uuid::nil();
        let m = Month {
            year: 2026,
            month: 9,
        };
        let dbl = UnitTypeId::parse("dbl").unwrap();
        let dblx = UnitTypeId::parse("dbl-x").unwrap();
        let (_, a) = pool(&t, e, &dbl, m.next());
        let (_, b) = pool(&t, e, &dblx, m);
        assert!(a < b, "all months of `dbl` sort before `dbl-x`");
        assert_eq!(parse_pool_sk(&a), Some((dbl, m.next())));
        let id = Uuid::from_u128(7);
        assert_eq!(parse_allotment_pk(&allotment_grid(&t, id, m).0), Some(id));
    }
}
