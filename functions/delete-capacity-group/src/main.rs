#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(delete_capacity_group::FUNCTION).await
}
