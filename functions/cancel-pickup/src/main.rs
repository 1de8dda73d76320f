#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(cancel_pickup::FUNCTION).await
}
