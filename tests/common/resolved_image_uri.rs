//! Lambda GetFunction's `Code.ResolvedImageUri` for the gap filler: moto makes up its digest (a
//! hash of the function's code record); Lambda reports the digest the image tag resolved to
//! (Lambda API Reference, FunctionCodeLocation). The answer's digest is set to the one moto's
//! own ECR gives for the tag.

use super::moto::ecr_digest;

/// `/2015-03-31/functions/NAME` (GetFunction; not its sub-resources).
pub fn is_get_function(path: &str) -> bool {
    path.strip_prefix("/2015-03-31/functions/")
        .is_some_and(|name| !name.is_empty() && !name.trim_end_matches('/').contains('/'))
}

/// A GetFunction answer with `Code.ResolvedImageUri` naming the digest moto's ECR holds for
/// `Code.ImageUri`'s tag, as Lambda reports it (unchanged when there is nothing to resolve).
pub fn resolve(response: Vec<u8>, moto_port: u16) -> Vec<u8> {
    let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return response;
    };
    let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&response[split + 4..]) else {
        return response;
    };
    let Some(uri) = body["Code"]["ImageUri"].as_str().map(str::to_string) else {
        return response;
    };
    let Some((repository_uri, tag)) = uri
        .rsplit_once(':')
        .filter(|(r, t)| !t.contains('/') && !r.contains('@'))
    else {
        return response;
    };
    let repository = repository_uri.split_once('/').map_or("", |(_, r)| r);
    let Some(digest) = ecr_digest(moto_port, repository, tag) else {
        return response;
    };
    body["Code"]["ResolvedImageUri"] = format!("{repository_uri}@{digest}").into();
    let body = body.to_string();
    let head = String::from_utf8_lossy(&response[..split]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        if line.to_ascii_lowercase().starts_with("content-length:") {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}
