#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(release_allotment::FUNCTION).await
}
