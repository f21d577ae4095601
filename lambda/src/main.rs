//! The Lambda function: EventBridge ECR push and replication events, and consumer changes
//! (CloudTrail API call events), in; verdicts out. Also the deployment gates' hooks (a
//! CloudFormation Lambda Hook, an ECS lifecycle hook) in; the hook's answer out.
//!
//! Init reads the settings and wires the guard once (`aws::wiring`); each invocation is
//! `Guard::handle`. A failed event (alert not sent, transient ECR error) fails the invocation
//! so Lambda retries it and, after the retries, sends it to the dead-letter queue.

#![recursion_limit = "256"]

use ecr_arch_guard::aws::wiring::{self, LambdaGuard};
use ecr_arch_guard::handler::metrics::Invocation;
use ecr_arch_guard::handler::settings::Settings;
use ecr_arch_guard::handler::Answer;
use ecr_arch_guard::Error;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let started = std::time::Instant::now();
    ecr_arch_guard::util::logging::init();
    let settings = Settings::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    outside_lambda().inspect_err(|e| tracing::error!(error = %e, "not under a Lambda runtime"))?;
    let settings_us = started.elapsed().as_micros() as u64;
    let guard =
        wiring::lambda(settings).inspect_err(|e| tracing::error!(error = %e, "cannot start"))?;
    // One line per cold start: where the init went (the AWS configuration and the clients are
    // in the "guard wired" line before it).
    tracing::info!(
        settings_us,
        total_us = started.elapsed().as_micros() as u64,
        "initialised"
    );
    let guard = &guard;
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let function = function.as_str();
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let started = std::time::Instant::now();
            let answer = within_deadline(&event.context, guard.handle_any(event.payload)).await;
            metrics(guard, function, &answer, started);
            answer.map_err(diagnostic)
        },
    ))
    .await
}

/// `work`, or an error just before the invocation's deadline (less
/// [`timeouts::MARGIN`](ecr_arch_guard::aws::timeouts::MARGIN)): the invocation then fails as
/// any other error does — logged, counted, retried by Lambda, then dead-lettered — instead of
/// being ended by Lambda at the function's timeout with nothing said. Every AWS call is bounded
/// too (`aws::timeouts`); this is the net under all of them together.
async fn within_deadline(
    context: &lambda_runtime::Context,
    work: impl std::future::Future<Output = Result<Answer, Error>>,
) -> Result<Answer, Error> {
    let margin = ecr_arch_guard::aws::timeouts::MARGIN;
    let left = context
        .deadline()
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(margin);
    // A deadline the runtime did not give (0, local runs): no limit of our own.
    if context.deadline == 0 {
        return work.await;
    }
    match tokio::time::timeout(left, work).await {
        Ok(answer) => answer,
        Err(_) => {
            let e = Error::Transient(format!(
                "not finished {} s before the function's timeout: failed so that Lambda retries \
                 it (the AWS calls were slow or did not answer)",
                margin.as_secs()
            ));
            tracing::error!(error = %e, request_id = %context.request_id, "invocation deadline");
            Err(e)
        }
    }
}

/// The invocation's metrics, one EMF line on standard output (CloudWatch Logs extracts them).
fn metrics(
    guard: &LambdaGuard,
    function: &str,
    answer: &Result<Answer, Error>,
    started: std::time::Instant,
) {
    let mut m = Invocation::default();
    match answer {
        Ok(Answer::Push(v)) => m.count(v),
        Ok(Answer::Change(verdicts)) => verdicts.iter().for_each(|v| m.count(v)),
        // A consumer index refresh judges nothing (its log line says what it wrote).
        Ok(Answer::Refresh(_)) => {}
        Ok(Answer::Watch(report)) => {
            report.verdicts.iter().for_each(|v| m.count(v));
            m.gate_refusals = u32::from(report.refused());
            m.gate_unjudged = u32::from(
                report.step == Some(ecr_arch_guard::gate::deployment_watch::Step::NotJudged),
            );
        }
        Ok(Answer::Gate(gate)) => {
            gate.verdicts.iter().for_each(|v| m.count(v));
            m.gate_refusals = u32::from(gate.refused());
            m.gate_unjudged = u32::from(
                !gate.refused() && gate.ruling.kind == ecr_arch_guard::gate::RulingKind::NotJudged,
            );
        }
        Err(_) => m.errors = 1,
    }
    m.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    println!(
        "{}",
        m.emf(function, now, guard.settings.metrics_per_repository)
    );
}

fn diagnostic(e: Error) -> Diagnostic {
    Diagnostic {
        error_type: if e.is_retryable() {
            "Retryable"
        } else {
            "NonRetryable"
        }
        .to_string(),
        error_message: e.to_string(),
    }
}

/// The variables Lambda (and its runtime emulator) sets and `lambda_runtime` reads with
/// `expect` (`Config::from_env`): checked first, so that `bootstrap` started outside Lambda ends
/// with this error instead of the runtime's panic.
fn outside_lambda() -> Result<(), Error> {
    let missing: Vec<&str> = [
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    ]
    .into_iter()
    .filter(|name| std::env::var_os(name).is_none())
    .collect();
    let memory = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").unwrap_or_default();
    if !missing.is_empty() {
        return Err(Error::Usage(format!(
            "{} not set: bootstrap is the Lambda function and runs under Lambda or its runtime \
             emulator (scripts/demo, `sam local invoke`); for the guard on a machine use the \
             ecr-arch-guard CLI",
            missing.join(", ")
        )));
    }
    if memory.parse::<i32>().is_err() {
        return Err(Error::Usage(format!(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE is {memory:?}, not a number of MB"
        )));
    }
    Ok(())
}
