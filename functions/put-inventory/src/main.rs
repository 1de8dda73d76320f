#[tokio::main]
async fn main() -> Result<(), shared::http::LambdaError> {
    shared::http::run(put_inventory::FUNCTION).await
}
