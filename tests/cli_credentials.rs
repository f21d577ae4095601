//! What a user can act on, before any AWS call: an unknown profile, no region, no credentials,
//! expired credentials — each one line on stderr naming the fix, exit 2, and quickly (no
//! chain of retried calls). No AWS endpoint is involved.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The CLI with a clean environment: `home` as HOME (its ~/.aws files), `env` on top.
fn cli(home: &Path, args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecr-arch-guard"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let out = cmd.output().unwrap();
    (out, started.elapsed())
}

fn one_error_line(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn credentials_profile_and_region_problems_are_one_line_naming_the_fix() {
    let home = std::env::temp_dir().join(format!("ecr-arch-guard-home-{}", std::process::id()));
    let aws = home.join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    // A credential_process that hands out credentials which expired long ago (the SDK's
    // documented process-credentials format).
    let process = home.join("creds.sh");
    std::fs::write(
        &process,
        "#!/bin/sh\nprintf '%s' '{\"Version\":1,\"AccessKeyId\":\"AKIAEXAMPLE\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\",\"Expiration\":\"2020-01-01T00:00:00Z\"}'\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&process, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(
        aws.join("config"),
        format!(
            "[profile old]\nregion = us-east-1\ncredential_process = {}\n\n[profile noregion]\n",
            process.display()
        ),
    )
    .unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[noregion]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n",
    )
    .unwrap();

    let (out, took) = cli(
        &home,
        &["check", "grafana:latest", "--profile", "nope"],
        &[],
    );
    let err = one_error_line(&out);
    assert!(
        err.contains("AWS profile \"nope\" is not in ~/.aws/config"),
        "{err}"
    );
    assert!(err.contains("aws configure --profile nope"), "{err}");
    assert!(took < Duration::from_secs(10), "no retried calls: {took:?}");

    let (out, _) = cli(&home, &["scan", "--profile", "noregion"], &[]);
    let err = one_error_line(&out);
    assert!(err.contains("no AWS region: pass --region"), "{err}");

    let (out, _) = cli(
        &home,
        &["check", "grafana:latest"],
        &[("AWS_REGION", "us-east-1")],
    );
    let err = one_error_line(&out);
    assert!(err.contains("no AWS credentials:"), "{err}");
    assert!(err.contains("aws sso login"), "{err}");

    let (out, _) = cli(
        &home,
        &[
            "consumer",
            "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
        ],
        &[("AWS_PROFILE", "old")],
    );
    let err = one_error_line(&out);
    assert!(err.contains("the AWS credentials have expired"), "{err}");
    let _ = std::fs::remove_dir_all(&home);
}
