use cutoff_release::{Budget, BUDGET_MARGIN};
use cutoff_release_worker::{handle_event, WorkerOptions};
use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::http::init_tracing();
    let store = shared::store::Store::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let store = store.clone();
        async move {
            let budget = Budget::from_deadline(event.context.deadline, BUDGET_MARGIN);
            handle_event(&store, &event.payload, &WorkerOptions::deployed(budget))
                .await
                .map_err(|e| lambda_runtime::Error::from(e.to_string()))
        }
    }))
    .await
}
