//! Reads and writes no production code makes: stored states only a test needs to set
//! up, and whole reads only a test needs.

use aws_sdk_dynamodb::types::AttributeValue;
use shared::domain::allotment::AllocationEntry;
use shared::domain::error::ApiError;
use shared::domain::ids::TenantId;
use shared::store::{keys, Store};
use uuid::Uuid;

use crate::fixtures::{client, now, tenant};

/// Every history entry of an allotment, newest first (the public paged read, to the end).
pub async fn allocation_history(
    store: &Store,
    t: &TenantId,
    id: Uuid,
) -> Result<Vec<AllocationEntry>, ApiError> {
    Ok(store
        .allocation_history_page(t, id, usize::MAX, None)
        .await?
        .0)
}

/// The capacity group an allotment belongs to, from its membership item.
pub async fn group_of(store: &Store, t: &TenantId, allotment: Uuid) -> Option<Uuid> {
    let found = store.load_candidates(t, &[allotment]).await.expect("read");
    found.into_iter().next().and_then(|(_, c)| c?.group_id)
}

/// Marks an establishment as holding active allotments or groups, so that its
/// time zone may no longer change.
pub async fn set_active_holds(store: &Store, tenant_name: &str, est: Uuid, holds: i64) {
    let (pk, sk) = keys::establishment(&tenant(tenant_name), est);
    client()
        .update_item()
        .table_name(store.table())
        .key(keys::PK, AttributeValue::S(pk))
        .key(keys::SK, AttributeValue::S(sk))
        .update_expression("SET #c = :n")
        .expression_attribute_names("#c", "activeHolds")
        .expression_attribute_values(":n", AttributeValue::N(holds.to_string()))
        .send()
        .await
        .expect("set counter");
}

/// Writes a lock of the earlier, lock-based idempotency design that never completed
/// (its request died): `state = pending` under the key.
pub async fn put_pending_idempotency_lock(store: &Store, tenant_name: &str, key: &str, fp: &str) {
    let digest = shared::domain::idempotency::key_digest(key);
    let at = now().timestamp();
    client()
        .put_item()
        .table_name(store.table())
        .item(
            keys::PK,
            AttributeValue::S(format!("T#{tenant_name}#IDEM#{digest}")),
        )
        .item(keys::SK, AttributeValue::S("IDEM".into()))
        .item("fp", AttributeValue::S(fp.into()))
        .item("state", AttributeValue::S("pending".into()))
        .item("owner", AttributeValue::S("gone".into()))
        .item("createdAt", AttributeValue::N(at.to_string()))
        .item("lockUntil", AttributeValue::N((at + 60).to_string()))
        .send()
        .await
        .expect("put a pending lock");
}

/// How many items of a plan in steps (`STEPS` marker, `STEP#<n>` records) an allotment's
/// partition still holds.
pub async fn step_items(store: &Store, t: &TenantId, allotment: &str) -> usize {
    let found = client()
        .query()
        .table_name(store.table())
        .key_condition_expression("PK = :pk AND begins_with(SK, :s)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("T#{t}#A#{allotment}")))
        .expression_attribute_values(":s", AttributeValue::S("STEP".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("query");
    found.items().len()
}

/// Makes `allotment` a member of `group` behind the API's back (a claim another
/// request made meanwhile).
pub async fn claim_membership(store: &Store, t: &TenantId, allotment: Uuid, group: Uuid) {
    let (pk, sk) = keys::membership(t, allotment);
    client()
        .put_item()
        .table_name(store.table())
        .item(keys::PK, AttributeValue::S(pk))
        .item(keys::SK, AttributeValue::S(sk))
        .item("groupId", AttributeValue::S(group.to_string()))
        .send()
        .await
        .expect("put");
}

/// Ages the lock a keyed request in steps holds on `key` (as if its lease ran out).
pub async fn expire_key_lock(store: &Store, t: &TenantId, key: &str) {
    let digest = shared::domain::idempotency::key_digest(key);
    client()
        .update_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S(format!("T#{t}#IDEM#{digest}")))
        .key("SK", AttributeValue::S("IDEM".into()))
        .update_expression("SET leaseUntil = :past")
        .condition_expression("#state = :pending")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":past", AttributeValue::N("0".into()))
        .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
        .send()
        .await
        .expect("a pending lock");
}
