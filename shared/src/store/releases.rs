//! The release index: a sparse GSI (`GSI2`) holding every active allotment (and
//! capacity group) that still has nights to release, partitioned by day and shard
//! (`REL#<YYYY-MM-DD>#<0..7>`) and sorted by the moment its entry becomes eligible,
//! then its establishment (`<instant>#<establishment>#<id>`): a shard's entries due at
//! one moment come hotel by hotel, so the releases the cutoff takes together share
//! their establishment's pool buckets (an entry of the earlier `<instant>#<id>` form
//! reads the same way).
//!
//! An entry is eligible at its next release moment, but never sooner than
//! [`INDEX_SETTLE`] after the write that put it there: an entry written with a moment
//! already past (a PATCH to an earlier cutoff, a late creation) is eligible a minute
//! after that write. So whatever is eligible at an instant was committed and readable
//! in the index (a GSI is eventually consistent) well before it, and the cutoff can keep
//! an exact watermark: every entry eligible at or before it has been taken (released,
//! or handed to the release queue). A run reads only the entries eligible after the
//! watermark and up to its event's time: one query per shard of the day it is in
//! (two when the window crosses midnight UTC), whatever the size of the index.
//!
//! Eight shards: the release of N allotments due at one moment removes (or moves) N
//! index entries within the same minutes; eight partitions take about 8,000 index writes
//! a second without relying on DynamoDB splitting a hot partition, more than a default
//! on-demand table takes in release transactions (see the README, "Cutoff").

use chrono::{DateTime, Duration, NaiveDate, Utc};
use uuid::Uuid;

use super::attr::{get_s, key, s, Item};
use super::{keys, sdk_error, Store};
use crate::domain::allotment::AllotmentRecord;
use crate::domain::error::ApiError;
use crate::domain::establishment::format_instant;
use crate::domain::ids::TenantId;

pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
pub const SHARDS: u8 = 8;
/// How far back a run looks at most (also a first run, with no watermark yet): the
/// function runs every minute, so only an outage longer than this could leave an
/// entry behind, and the error and dead-letter alarms fire long before.
pub const MAX_LOOKBACK_DAYS: i64 = 31;
/// An index entry is eligible no sooner than this after the write that put it there:
/// more than an API function's timeout (10 s) plus the index's propagation delay, so an
/// entry eligible at an instant is readable at that instant.
pub const INDEX_SETTLE: Duration = Duration::seconds(60);
/// Entries per index page read by a run (about 200 KB of keys).
pub const PAGE: usize = 1000;

fn shard(id: Uuid) -> u8 {
    id.as_bytes()[15] % SHARDS
}

pub fn partition(day: NaiveDate, shard: u8) -> String {
    format!("REL#{day}#{shard}")
}

/// When an entry for a release due at `due`, written at `written`, is taken.
pub fn eligible_at(due: DateTime<Utc>, written: DateTime<Utc>) -> DateTime<Utc> {
    due.max(written + INDEX_SETTLE)
}

/// The index keys of an allotment, or `None` when it has nothing left to release.
pub fn index_keys(r: &AllotmentRecord) -> Option<(String, String)> {
    Some(keys_for(
        (r.establishment_id, r.allotment_id),
        r.next_release_at()?,
        r.updated_at,
    ))
}

/// The index keys of a capacity group (its unused rooms go back at its own cutoff).
pub fn group_index_keys(g: &crate::domain::group::GroupRecord) -> Option<(String, String)> {
    Some(keys_for(
        (g.establishment_id, g.capacity_group_id),
        g.next_release_at()?,
        g.updated_at,
    ))
}

fn keys_for(
    (establishment, id): (Uuid, Uuid),
    due: DateTime<Utc>,
    written: DateTime<Utc>,
) -> (String, String) {
    let at = eligible_at(due, written);
    (
        partition(at.date_naive(), shard(id)),
        format!("{}#{establishment}#{id}", format_instant(&at)),
    )
}

/// The sort-key bound just above every entry eligible at `t` (ids sort below `~`).
fn above(t: &DateTime<Utc>) -> String {
    format!("{}#~", format_instant(t))
}

/// What an index entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueKind {
    Allotment,
    Group,
}

impl DueKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            DueKind::Allotment => "allotment",
            DueKind::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Option<DueKind> {
        match s {
            "allotment" => Some(DueKind::Allotment),
            "group" => Some(DueKind::Group),
            _ => None,
        }
    }
}

/// An allotment or group found due: its tenant and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub tenant: TenantId,
    pub kind: DueKind,
    pub allotment_id: Uuid,
}

/// An index entry read by a run: what is due, and when its entry became eligible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueEntry {
    pub due: Due,
    pub at: DateTime<Utc>,
}

fn parse_due(pk: &str) -> Option<Due> {
    let rest = pk.strip_prefix("T#")?;
    let (tenant, kind, id) = match rest.rsplit_once("#A#") {
        Some((t, id)) => (t, DueKind::Allotment, id),
        None => {
            let (t, id) = rest.rsplit_once("#G#")?;
            (t, DueKind::Group, id)
        }
    };
    Some(Due {
        tenant: TenantId::parse(tenant).ok()?,
        kind,
        allotment_id: Uuid::parse_str(id).ok()?,
    })
}

fn parse_at(sk: &str) -> Option<DateTime<Utc>> {
    let (at, _) = sk.split_once('#')?;
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Where a paged read of one partition resumes.
#[derive(Debug, Clone)]
pub struct PageKey(Item);

/// One page of a partition: its entries (in eligibility order) and where the next
/// page starts, if any.
#[derive(Debug, Default)]
pub struct DuePage {
    pub entries: Vec<DueEntry>,
    pub next: Option<PageKey>,
}

const WATERMARK: (&str, &str) = ("CONFIG", "CUTOFF_WATERMARK");
const WATERMARK_AT: &str = "at";

impl Store {
    /// A page of up to `limit` entries of one partition eligible after `after` (every
    /// entry of the partition when `None`) and at or before `through`, resuming at
    /// `start`.
    pub async fn due_page(
        &self,
        (day, shard): (NaiveDate, u8),
        after: Option<DateTime<Utc>>,
        through: DateTime<Utc>,
        limit: usize,
        start: Option<PageKey>,
    ) -> Result<DuePage, ApiError> {
        if after.is_some_and(|a| a >= through) {
            return Ok(DuePage::default());
        }
        let mut query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(GSI2)
            .expression_attribute_names("#pk", GSI2PK)
            .expression_attribute_names("#sk", GSI2SK)
            .expression_attribute_values(":pk", s(partition(day, shard)))
            .expression_attribute_values(":to", s(above(&through)))
            .set_exclusive_start_key(start.map(|k| k.0))
            .limit(limit.clamp(1, PAGE) as i32);
        query = match after {
            Some(a) => query
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                .expression_attribute_values(":from", s(above(&a))),
            None => query.key_condition_expression("#pk = :pk AND #sk <= :to"),
        };
        let resp = query.send().await.map_err(|e| sdk_error("due_page", e))?;
        let mut entries = Vec::with_capacity(resp.items().len());
        for item in resp.items() {
            let pk = get_s(item, keys::PK)?;
            let sk = get_s(item, GSI2SK)?;
            match (parse_due(pk), parse_at(sk)) {
                (Some(due), Some(at)) => entries.push(DueEntry { due, at }),
                _ => tracing::error!(pk, sk, "unreadable release index entry"),
            }
        }
        let next = resp
            .last_evaluated_key()
            .filter(|k| !k.is_empty())
            .map(|k| PageKey(k.clone()));
        Ok(DuePage { entries, next })
    }

    /// Every entry eligible at or before the watermark has been taken (`None` before
    /// the first run, and for a watermark of the earlier day-based format).
    pub async fn release_watermark(&self) -> Result<Option<DateTime<Utc>>, ApiError> {
        let item = self
            .get(
                "release_watermark",
                (WATERMARK.0.into(), WATERMARK.1.into()),
            )
            .await?;
        Ok(item.and_then(|i| {
            i.get(WATERMARK_AT)
                .and_then(|a| a.as_s().ok())
                .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
                .map(|a| a.with_timezone(&Utc))
        }))
    }

    /// Sets the watermark to `at` in one conditional write: if it is still `read` (the
    /// value this run started from), or if another run moved it later than `at` (the
    /// earlier of two watermarks is the safe one). `false` when it was left as it is
    /// (another run set it at or before `at`).
    pub async fn move_release_watermark(
        &self,
        read: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let mut put = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(key(WATERMARK.0.into(), WATERMARK.1.into())))
            .item(WATERMARK_AT, s(format_instant(&at)))
            .expression_attribute_names("#at", WATERMARK_AT)
            .expression_attribute_values(":at", s(format_instant(&at)));
        put = match read {
            None => put.condition_expression("attribute_not_exists(#at) OR #at > :at"),
            Some(r) => put
                .condition_expression("attribute_not_exists(#at) OR #at = :read OR #at > :at")
                .expression_attribute_values(":read", s(format_instant(&r))),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error("move_release_watermark", e)),
        }
    }
}

/// The window a run at `now` reads, as the exclusive lower bound of eligibility: the
/// watermark, at most [`MAX_LOOKBACK_DAYS`] back. A watermark at or after `now` (a
/// replay of an earlier time, or a retried late delivery) reads `now`'s own day.
pub fn read_after(watermark: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    let earliest = now - Duration::days(MAX_LOOKBACK_DAYS);
    match watermark {
        Some(w) if w >= now => day_start(now.date_naive()) - Duration::seconds(1),
        Some(w) => w.max(earliest),
        None => earliest,
    }
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// The day partitions holding entries eligible in `(after, now]`.
pub fn days_to_scan(after: DateTime<Utc>, now: DateTime<Utc>) -> Vec<NaiveDate> {
    let today = now.date_naive();
    let from = (after + Duration::seconds(1)).date_naive().min(today);
    from.iter_days().take_while(|d| *d <= today).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::dates::parse_date;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn due_entries_name_their_tenant_and_allotment() {
        let id = Uuid::new_v4();
        let d = parse_due(&format!("T#acme-1#A#{id}")).unwrap();
        assert_eq!((d.tenant.as_str(), d.allotment_id), ("acme-1", id));
        assert!(parse_due("T#acme#E#x").is_none());
        let g = parse_due(&format!("T#acme#G#{id}")).unwrap();
        assert_eq!(g.kind, DueKind::Group);
        assert_eq!(
            parse_at(&format!("2026-08-01T22:00:00Z#{id}")),
            Some(at("2026-08-01T22:00:00Z"))
        );
        assert_eq!(parse_at("garbage"), None);
        for k in [DueKind::Allotment, DueKind::Group] {
            assert_eq!(DueKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn an_entry_is_eligible_at_its_moment_but_never_within_a_minute_of_its_write() {
        let due = at("2026-08-01T22:00:00Z");
        assert_eq!(eligible_at(due, at("2026-06-01T10:00:00Z")), due);
        assert_eq!(
            eligible_at(due, at("2026-08-01T21:59:30Z")),
            at("2026-08-01T22:00:30Z"),
            "written 30 s before its moment"
        );
        assert_eq!(
            eligible_at(due, at("2026-08-03T08:00:00Z")),
            at("2026-08-03T08:01:00Z"),
            "a moment already past when written"
        );
        let (est, id) = (Uuid::new_v4(), Uuid::new_v4());
        let (pk, sk) = keys_for((est, id), due, at("2026-08-01T23:59:30Z"));
        assert_eq!(pk, partition(parse_date("2026-08-02").unwrap(), shard(id)));
        assert_eq!(sk, format!("2026-08-02T00:00:30Z#{est}#{id}"));
        assert_eq!(parse_at(&sk), Some(at("2026-08-02T00:00:30Z")));
        assert_eq!(
            parse_at(&format!("2026-08-02T00:00:30Z#{id}")),
            Some(at("2026-08-02T00:00:30Z")),
            "the earlier form"
        );
        assert!(sk < above(&at("2026-08-02T00:00:30Z")));
        assert!(sk > above(&at("2026-08-02T00:00:29Z")));
        assert!(shard(Uuid::new_v4()) < SHARDS);
    }

    #[test]
    fn a_run_reads_from_its_watermark_to_its_time() {
        let now = at("2026-08-02T00:05:00Z");
        // The usual run: the watermark a minute back, one day.
        let after = read_after(Some(at("2026-08-02T00:04:00Z")), now);
        assert_eq!(after, at("2026-08-02T00:04:00Z"));
        assert_eq!(
            days_to_scan(after, now),
            vec![parse_date("2026-08-02").unwrap()]
        );
        // Across midnight UTC: two days.
        let after = read_after(Some(at("2026-08-01T23:59:00Z")), now);
        assert_eq!(days_to_scan(after, now).len(), 2);
        // A watermark on the last second of a day reads the next day only.
        let after = read_after(Some(at("2026-08-01T23:59:59Z")), now);
        assert_eq!(days_to_scan(after, now).len(), 1);
        // First run, or a watermark older than the lookback: a month, bounded.
        assert_eq!(days_to_scan(read_after(None, now), now).len(), 32);
        assert_eq!(
            days_to_scan(read_after(Some(at("2020-01-01T00:00:00Z")), now), now).len(),
            32,
            "bounded work"
        );
        // A watermark ahead of the event time: the event's own day, whole.
        let after = read_after(Some(at("2026-09-01T00:00:00Z")), now);
        assert_eq!(after, at("2026-08-01T23:59:59Z"));
        assert_eq!(
            days_to_scan(after, now),
            vec![parse_date("2026-08-02").unwrap()]
        );
    }
}
