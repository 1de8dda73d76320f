//! The cold-start baseline of `make bench`: the smallest `lambda_http` function,
//! built with the same release profile as the real functions.

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_req: Request| async {
        Ok::<_, Error>(
            Response::builder()
                .status(200)
                .header("Content-Type", "text/plain")
                .body(Body::Text("hello".into()))?,
        )
    }))
    .await
}
