#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(patch_capacity_group::FUNCTION).await
}
