#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(cancel_allotment::FUNCTION).await
}
