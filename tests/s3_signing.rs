//! The consumer index's S3 requests are signed exactly as AWS's own SDK signs them: each request
//! the index makes (a conditional GET, a conditional PUT with a body, a ListObjectsV2 page),
//! signed by `aws::s3_objects::sign_headers` and by botocore's `S3SigV4Auth` with the same
//! credentials and clock (tests/aws_reference/sigv4_reference.py), must carry the same
//! Authorization header — so a signature S3 would reject cannot pass here, although moto never
//! checks signatures.

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use ecr_arch_guard::aws::s3_signing::sign_headers;
use serde_json::json;

/// Method, URL, the request's own headers, body.
type Request<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, &'a str);

#[test]
fn signatures_match_botocores() {
    let base = "https://guard-index.s3.eu-west-1.amazonaws.com";
    let requests: Vec<Request> = vec![
        (
            "GET",
            format!("{base}/consumers/123456789012/eu-west-1.json.gz"),
            vec![("if-none-match", "\"0f343b0931126a20f133d67c2b018a3b\"")],
            "",
        ),
        (
            "PUT",
            format!("{base}/consumers/123456789012/eu-west-1.json.gz"),
            vec![
                ("content-type", "application/gzip"),
                ("if-match", "\"0f343b0931126a20f133d67c2b018a3b\""),
            ],
            "{\"format\":1}",
        ),
        (
            "PUT",
            format!("{base}/consumers/210987654321/us-east-1.json.gz"),
            vec![("content-type", "application/gzip"), ("if-none-match", "*")],
            "index",
        ),
        (
            "GET",
            format!("{base}/?list-type=2&prefix=consumers%2F&continuation-token=1%2Fabc%3D"),
            vec![],
            "",
        ),
    ];
    // 2026-12-04T06:00:00Z
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_364_000);
    let credentials = || {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session-token".into()),
            None,
            "test",
        )
    };
    let mut ours = Vec::new();
    let mut input = Vec::new();
    for (method, url, headers, body) in &requests {
        let signed = sign_headers(
            method,
            url,
            headers,
            body.as_bytes(),
            credentials(),
            "eu-west-1",
            time,
        )
        .unwrap();
        let get = |k: &str| {
            signed
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("no {k} in {signed:?}"))
        };
        assert_eq!(get("x-amz-date"), "20261204T060000Z");
        assert_eq!(get("x-amz-security-token"), "session-token");
        ours.push(get("authorization"));
        let mut all: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        // botocore signs what the request carries; these are what the guard's request carries.
        all.insert(
            "x-amz-content-sha256".into(),
            json!(get("x-amz-content-sha256")),
        );
        input.push(json!({
            "method": method, "url": url, "headers": all, "body": body,
            "region": "eu-west-1", "access_key": "AKIDEXAMPLE",
            "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "token": "session-token", "time": "20261204T060000Z"
        }));
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let mut child = Command::new(format!("{root}/.venv/bin/python"))
        .arg(format!("{root}/tests/aws_reference/sigv4_reference.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the project's venv (scripts/setup-python)");
    serde_json::to_writer(child.stdin.take().unwrap(), &input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "botocore failed");
    let theirs: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(theirs.len(), requests.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "request {i}: {:?}", requests[i].1);
    }
}
