//! What a request to the local AWS is, as the IAM action it needs (`service:Operation`), and the
//! check that the guard called only what its role is granted.

use super::loopback::Request;

/// The AWS operation a request is, as `service:Operation` (the IAM action name): the service from
/// the SigV4 credential scope; the operation from X-Amz-Target (JSON protocols), the body's
/// `Action` (query protocols), or method and path (REST protocols: the calls the guard makes).
/// `None` for the harness's own uploads.
pub fn operation(req: &Request) -> Option<String> {
    let path = req.path();
    if path.starts_with("/upload/") {
        return None;
    }
    if path.starts_with("/blobs/") {
        return Some("GET blob".into());
    }
    // Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/sns/aws4_request, …
    let service = req
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unsigned");
    if let Some(t) = req.header("x-amz-target") {
        return Some(format!("{service}:{}", t.rsplit('.').next().unwrap_or(t)));
    }
    let body = String::from_utf8_lossy(&req.body);
    if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return Some(format!("{service}:{action}"));
    }
    if service == "s3" {
        // ListObjectsV2 is authorised as s3:ListBucket (S3 API Reference).
        let op = match req.method.as_str() {
            "GET" if req.target.contains("list-type=2") => "ListBucket",
            "GET" => "GetObject",
            "PUT" => "PutObject",
            other => other,
        };
        return Some(format!("s3:{op}"));
    }
    let op = match (req.method.as_str(), path.trim_end_matches('/')) {
        ("GET", "/2015-03-31/functions") => "ListFunctions".to_string(),
        ("GET", p) if p.starts_with("/2015-03-31/functions/") => "GetFunction".to_string(),
        ("POST", "/v1/describejobdefinitions") => "DescribeJobDefinitions".to_string(),
        (method, p) => format!("{method} {p}"),
    };
    Some(format!("{service}:{op}"))
}

/// Asserts that the guard called nothing its role is not granted: every call (as
/// `service:Operation`, see [`GapFiller::take_calls`]) is one of `granted`, the IAM actions the
/// SAM template grants; the blob GET is the presigned URL, which needs no action of its own.
pub fn assert_only_granted(calls: &[String], granted: &[&str]) {
    assert!(!calls.is_empty(), "no call was recorded");
    for call in calls.iter().filter(|c| c.as_str() != "GET blob") {
        assert!(
            granted.contains(&call.as_str()),
            "{call} is called but not granted: {calls:?}"
        );
    }
}
