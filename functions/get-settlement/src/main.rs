#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(get_settlement::FUNCTION).await
}
