//! The floor for the guard's start-up: a `lambda_runtime` function that does nothing, built in
//! the Lambda's package with the same release profile and the same link (`build.rs`).
//! `scripts/bench` measures its init beside the guard's; the gap is what the guard itself costs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(lambda_runtime::service_fn(
        |_: lambda_runtime::LambdaEvent<serde_json::Value>| async {
            Ok::<_, lambda_runtime::Error>(())
        },
    ))
    .await
}
