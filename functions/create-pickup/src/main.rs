#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(create_pickup::FUNCTION).await
}
