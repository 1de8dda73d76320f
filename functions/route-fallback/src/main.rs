#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(route_fallback::FUNCTION).await
}
