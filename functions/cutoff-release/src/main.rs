use cutoff_release::{answer, handle, Budget, Options, Queue, BUDGET_MARGIN};
use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::http::init_tracing();
    let store = shared::store::Store::from_env().await?;
    let queue = Queue::from_env().await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let (store, queue) = (store.clone(), queue.clone());
        async move {
            let clock = Some(chrono::Utc::now());
            let budget = Budget::from_deadline(event.context.deadline, BUDGET_MARGIN);
            handle(
                &store,
                &event.payload,
                clock,
                &Options::deployed(budget, queue),
            )
            .await
            .map(|r| answer(&r))
            .map_err(|e| lambda_runtime::Error::from(e.to_string()))
        }
    }))
    .await
}
