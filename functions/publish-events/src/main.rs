use std::time::{Duration, SystemTime};

use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use publish_events::aws_lambda_events::dynamodb::Event;
use publish_events::bus::{Configured, STOP_MARGIN};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::http::init_tracing();
    let bus = Configured::from_env().await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| {
        let bus = bus.clone();
        async move {
            let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(event.context.deadline);
            let outcome =
                publish_events::handle(&bus, &event.payload, deadline.checked_sub(STOP_MARGIN))
                    .await
                    .map_err(lambda_runtime::Error::from)?;
            publish_events::metrics::emit(&outcome);
            Ok::<_, lambda_runtime::Error>(outcome.response)
        }
    }))
    .await
}
