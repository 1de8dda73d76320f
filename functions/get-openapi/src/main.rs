#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(get_openapi::FUNCTION).await
}
