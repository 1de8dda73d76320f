#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(list_pickups::FUNCTION).await
}
