#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(get_capacity_group::FUNCTION).await
}
