#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(confirm_allotment::FUNCTION).await
}
