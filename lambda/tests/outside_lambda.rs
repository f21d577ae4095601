//! `bootstrap` started with a wrong or missing environment ends with one clear error line and
//! exit code 1 — never a panic (`lambda_runtime` itself `expect`s its variables).

use std::process::Command;

fn run(env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

const CREDENTIALS: [(&str, &str); 4] = [
    ("ACTIONS", "none"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
    (
        "AWS_SECRET_ACCESS_KEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
];

#[test]
fn a_missing_setting_is_named() {
    let (code, text) = run(&[]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("invalid configuration"), "{text}");
    assert!(text.contains("ALERT_TOPIC_ARN is required"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn outside_lambda_it_says_so_instead_of_panicking() {
    let (code, text) = run(&CREDENTIALS);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("not under a Lambda runtime"), "{text}");
    assert!(
        text.contains("AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_NAME"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn a_memory_size_that_is_not_a_number_is_an_error() {
    let mut env = CREDENTIALS.to_vec();
    env.extend([
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"),
        ("AWS_LAMBDA_FUNCTION_NAME", "guard"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots"),
    ]);
    let (code, text) = run(&env);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("not a number of MB"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}
