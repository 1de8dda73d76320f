#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(patch_allotment::FUNCTION).await
}
