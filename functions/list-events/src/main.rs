#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(list_events::FUNCTION).await
}
