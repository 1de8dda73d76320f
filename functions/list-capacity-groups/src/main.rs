#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(list_capacity_groups::FUNCTION).await
}
