//! The release index: a sparse GSI (`GSI2`) holding every active allotment that still
//! has nights to release, partitioned by day and shard (`REL#<YYYY-MM-DD>#<0..7>`) and
//! sorted by the moment its next night is due (`<instant>#<allotmentId>`).
//!
//! An allotment sits in the partition of the day its next night is due, or of the day
//! it was last written if that is later (a moment already past when written is picked
//! up that same day). The cutoff function reads the partitions from its watermark (the
//! earliest day that may still hold due entries) to the event's day.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use uuid::Uuid;

use super::attr::{get_s, key, s};
use super::{keys, sdk_error, Store};
use crate::domain::allotment::AllotmentRecord;
use crate::domain::dates::parse_date;
use crate::domain::error::ApiError;
use crate::domain::establishment::format_instant;
use crate::domain::ids::TenantId;

pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
pub const SHARDS: u8 = 8;
/// How far back a run looks at most (also a first run, with no watermark yet): the
/// function runs every 5 minutes, so only an outage longer than this could leave an
/// entry behind, and the error and dead-letter alarms fire long before.
pub const MAX_LOOKBACK_DAYS: i64 = 31;

fn shard(id: Uuid) -> u8 {
    id.as_bytes()[15] % SHARDS
}

pub fn partition(day: NaiveDate, shard: u8) -> String {
    format!("REL#{day}#{shard}")
}

/// The index keys of an allotment, or `None` when it has nothing left to release.
pub fn index_keys(r: &AllotmentRecord) -> Option<(String, String)> {
    keys_for(r.allotment_id, r.next_release_at()?, r.updated_at)
}

/// The index keys of a capacity group (its unused rooms go back at its own cutoff).
pub fn group_index_keys(g: &crate::domain::group::GroupRecord) -> Option<(String, String)> {
    keys_for(g.capacity_group_id, g.next_release_at()?, g.updated_at)
}

fn keys_for(id: Uuid, due: DateTime<Utc>, written: DateTime<Utc>) -> Option<(String, String)> {
    let day = due.date_naive().max(written.date_naive());
    Some((
        partition(day, shard(id)),
        format!("{}#{id}", format_instant(&due)),
    ))
}

/// What an index entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueKind {
    Allotment,
    Group,
}

/// An allotment or group found due: its tenant and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub tenant: TenantId,
    pub kind: DueKind,
    pub allotment_id: Uuid,
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

const WATERMARK: (&str, &str) = ("CONFIG", "CUTOFF_WATERMARK");

impl Store {
    /// Up to `limit` allotments of one partition that are due at `now`.
    pub async fn due_allotments(
        &self,
        day: NaiveDate,
        shard: u8,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Due>, ApiError> {
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(GSI2)
            .key_condition_expression("#pk = :pk AND #sk <= :now")
            .expression_attribute_names("#pk", GSI2PK)
            .expression_attribute_names("#sk", GSI2SK)
            .expression_attribute_values(":pk", s(partition(day, shard)))
            .expression_attribute_values(":now", s(format!("{}#~", format_instant(&now))))
            .limit(limit.clamp(1, 1000) as i32);
        let resp = query
            .send()
            .await
            .map_err(|e| sdk_error("due_allotments", e))?;
        let mut out = Vec::new();
        for item in resp.items() {
            let pk = get_s(item, keys::PK)?;
            match parse_due(pk) {
                Some(d) => out.push(d),
                None => tracing::error!(pk, "unreadable release index entry"),
            }
        }
        Ok(out)
    }

    /// The earliest day that may still hold due entries (`None` before the first run).
    pub async fn release_watermark(&self) -> Result<Option<NaiveDate>, ApiError> {
        let item = self
            .get(
                "release_watermark",
                (WATERMARK.0.into(), WATERMARK.1.into()),
            )
            .await?;
        Ok(item.and_then(|i| {
            i.get("day")
                .and_then(|d| d.as_s().ok())
                .and_then(|d| parse_date(d))
        }))
    }

    /// Moves the watermark to `day` if it is still `expected`; `false` if another run
    /// moved it meanwhile.
    pub async fn set_release_watermark(
        &self,
        expected: Option<NaiveDate>,
        day: NaiveDate,
    ) -> Result<bool, ApiError> {
        let mut put = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(key(WATERMARK.0.into(), WATERMARK.1.into())))
            .item("day", s(day.to_string()));
        put = match expected {
            None => put.condition_expression("attribute_not_exists(PK)"),
            Some(d) => put
                .condition_expression("#day = :day")
                .expression_attribute_names("#day", "day")
                .expression_attribute_values(":day", s(d.to_string())),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error("set_release_watermark", e)),
        }
    }
}

/// The days a run at `now` reads: from the watermark to today, at most a month back.
pub fn days_to_scan(watermark: Option<NaiveDate>, now: DateTime<Utc>) -> Vec<NaiveDate> {
    let today = now.date_naive();
    let earliest = today - Duration::days(MAX_LOOKBACK_DAYS);
    let from = watermark.unwrap_or(earliest).clamp(earliest, today);
    from.iter_days().take_while(|d| *d <= today).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_entries_name_their_tenant_and_allotment() {
        let id = Uuid::new_v4();
        let d = parse_due(&format!("T#acme-1#A#{id}")).unwrap();
        assert_eq!((d.tenant.as_str(), d.allotment_id), ("acme-1", id));
        assert!(parse_due("T#acme#E#x").is_none());
        let g = parse_due(&format!("T#acme#G#{id}")).unwrap();
        assert_eq!(g.kind, DueKind::Group);
    }

    #[test]
    fn scanned_days_run_from_the_watermark_to_today() {
        let now = DateTime::parse_from_rfc3339("2026-08-02T00:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let days = days_to_scan(parse_date("2026-07-30"), now);
        assert_eq!(days.len(), 4);
        assert_eq!(days_to_scan(None, now).len(), 32);
        assert_eq!(
            days_to_scan(parse_date("2020-01-01"), now).len(),
            32,
            "bounded work"
        );
        assert_eq!(
            days_to_scan(parse_date("2020-01-01"), now).len(),
            32,
            "bounded work"
        );
        assert_eq!(
            days_to_scan(parse_date("2026-09-01"), now),
            vec![parse_date("2026-08-02").unwrap()]
        );
        assert!(shard(Uuid::new_v4()) < SHARDS);
    }
}
