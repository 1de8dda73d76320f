#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(create_capacity_group::FUNCTION).await
}
