//! Creates the table exactly as `infra/template.yaml` defines it (local and tests).

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus,
    TimeToLiveSpecification,
};

use super::{sdk_error, Store};
use crate::domain::error::ApiError;
use crate::template::{table_definition, TableDefinition};

fn keys(schema: &[(String, String)]) -> Result<Vec<KeySchemaElement>, ApiError> {
    schema
        .iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::from(kind.as_str()))
                .build()
                .map_err(|e| ApiError::Internal(format!("key schema: {e}")))
        })
        .collect()
}

impl Store {
    /// Creates the table if it does not exist and waits until it is active: the
    /// template's keys, indexes and TTL, without its stream. DynamoDB Local writes a
    /// stream record in the same lock as the item: measured here, 320 transactions of 5
    /// items, 32 at once, took 2.2–2.7 s without a stream and 4.6–10.6 s with one, enough
    /// to push the concurrent tests past the SDK's 4 s. Only the publisher reads it.
    pub async fn ensure_table(&self) -> Result<(), ApiError> {
        let mut def = table_definition();
        def.stream_view_type = None;
        self.ensure_table_as(&def).await
    }

    /// [`Store::ensure_table`] with the template's stream too (as deployed), for the tests
    /// that read it (`functions/publish-events`).
    pub async fn ensure_table_with_stream(&self) -> Result<(), ApiError> {
        self.ensure_table_as(&table_definition()).await
    }

    async fn ensure_table_as(&self, def: &TableDefinition) -> Result<(), ApiError> {
        let exists = self
            .client()
            .describe_table()
            .table_name(self.table())
            .send()
            .await;
        match exists {
            Ok(_) => return self.wait_active().await,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(e) => return Err(sdk_error("describe_table", e)),
        }
        self.create_table(def).await
    }

    async fn create_table(&self, def: &TableDefinition) -> Result<(), ApiError> {
        let mut req = self
            .client()
            .create_table()
            .table_name(self.table())
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(keys(&def.key_schema)?));
        for (name, kind) in &def.attributes {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(kind.as_str()))
                    .build()
                    .map_err(|e| ApiError::Internal(format!("attribute: {e}")))?,
            );
        }
        for g in &def.global_indexes {
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&g.name)
                    .set_key_schema(Some(keys(&g.key_schema)?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(g.projection.as_str()))
                            .build(),
                    )
                    .build()
                    .map_err(|e| ApiError::Internal(format!("index: {e}")))?,
            );
        }
        if let Some(view) = &def.stream_view_type {
            // As deployed: the outbox's event items reach `publish-events` through it
            // (its tests read DynamoDB Local's stream).
            let stream = StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .map_err(super::expr::built("stream"))?;
            req = req.stream_specification(stream);
        }
        match req.send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(e) => return Err(sdk_error("create_table", e)),
        }
        self.wait_active().await?;
        if let Some(attr) = &def.ttl_attribute {
            // DynamoDB Local accepts the setting (it does not expire items itself);
            // expiry is always checked from the stored time anyway.
            let ttl = TimeToLiveSpecification::builder()
                .attribute_name(attr)
                .enabled(true)
                .build()
                .map_err(super::expr::built("ttl"))?;
            let _ = self
                .client()
                .update_time_to_live()
                .table_name(self.table())
                .time_to_live_specification(ttl)
                .send()
                .await;
        }
        Ok(())
    }

    async fn wait_active(&self) -> Result<(), ApiError> {
        for _ in 0..100 {
            let d = self
                .client()
                .describe_table()
                .table_name(self.table())
                .send()
                .await
                .map_err(|e| sdk_error("describe_table", e))?;
            if d.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(ApiError::Unavailable("table did not become active".into()))
    }
}
