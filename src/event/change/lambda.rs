//! Lambda's watched calls: which function, and whether the record already says there is no
//! image to judge. CloudTrail's records of these calls (the Lambda Developer Guide's CloudTrail
//! chapter; real ones in tests' provenance, events/SOURCES.md) carry the request without the
//! code itself — no `zipFile`, often no `s3Bucket` — but the response is the function's
//! configuration, whose `packageType` (`Zip` or `Image`, Lambda API Reference,
//! FunctionConfiguration) says what was deployed. A `.zip` function is skipped unread; only when
//! neither request nor response says (CloudTrail may omit both) is the function read.
//!
//! Event names: `CreateFunction20150331`, `UpdateFunctionCode20150331v2`, and
//! `UpdateFunctionCode20150331` — Lambda's CloudTrail event names carry the API version and
//! revision of the operation; the unrevised name appears in published CloudTrail data of older
//! calls. AWS's documentation lists no current call emitted under it, and none could be checked
//! against AWS here; it is watched so such a record is judged like the current one (an extra
//! name costs nothing when it never comes).

use serde_json::Value;

use super::{present, text, Requested, Target};
use crate::util::error::Error;

/// The function a call names and, for a call Lambda refused for its image, what it asked for;
/// `Err(reason)` when nothing is to be judged.
pub(super) fn target(
    name: &str,
    req: &Value,
    resp: &Value,
    error: Option<&str>,
) -> Result<Result<(Target, Option<Requested>), String>, Error> {
    let image = text(req, &["code", "imageUri"]).or_else(|| text(req, &["imageUri"]));
    if req.get("dryRun") == Some(&Value::Bool(true)) {
        return Ok(Err(format!("{name} with dryRun: nothing changed")));
    }
    if let Some(kind) = package_type(name, req, resp, image.is_some()) {
        if kind == "Zip" {
            return Ok(Err(format!(
                "{name} of a .zip function (packageType Zip): no container image involved, \
                 nothing read"
            )));
        }
    }
    let mut requested = None;
    if let (Some(e), Some(image)) = (error, image) {
        if e.starts_with("InvalidParameterValueException") {
            requested = Some(Requested {
                image: image.to_string(),
                architectures: req
                    .get("architectures")
                    .and_then(|a| serde_json::from_value::<Vec<String>>(a.clone()).ok()),
                error: e.to_string(),
            });
        }
    }
    let function = text(resp, &["functionArn"])
        .or_else(|| text(req, &["functionName"]))
        .ok_or_else(|| {
            Error::Malformed(format!(
                "lambda.amazonaws.com {name} event names no function (neither requestParameters \
                 nor responseElements)"
            ))
        })?;
    Ok(Ok((
        Target::LambdaFunction(function.to_string()),
        requested,
    )))
}

/// What the record says was deployed: the response's `packageType`, else the request's own,
/// else what its code fields imply; `None` when it does not say.
fn package_type(name: &str, req: &Value, resp: &Value, image: bool) -> Option<&'static str> {
    let said = |v: &Value| match text(v, &["packageType"]) {
        Some("Zip") => Some("Zip"),
        Some("Image") => Some("Image"),
        _ => None,
    };
    if let Some(kind) = said(resp).or_else(|| said(req)) {
        return Some(kind);
    }
    if image {
        return Some("Image");
    }
    let zip_code = ["zipFile", "s3Bucket", "s3Key"]
        .iter()
        .any(|k| present(req, k) || present(&req["code"], k));
    if zip_code {
        return Some("Zip");
    }
    // CreateFunction without ImageUri and with request parameters: Lambda's default package
    // type is Zip (Lambda API Reference, CreateFunction, PackageType).
    (name == "CreateFunction20150331" && !req.is_null()).then_some("Zip")
}

#[cfg(test)]
mod tests {
    use super::super::{classify, Classified, CloudTrailEvent, DETAIL_TYPE};
    use serde_json::{json, Value};

    fn event(name: &str, req: Value, resp: Value) -> CloudTrailEvent {
        serde_json::from_value(json!({
            "version": "0", "id": "ev-1", "detail-type": DETAIL_TYPE, "source": "aws.lambda",
            "account": "123456789012", "time": "2026-11-25T10:00:00Z", "region": "us-east-1",
            "resources": [], "detail": {"eventSource": "lambda.amazonaws.com", "eventName": name,
              "requestParameters": req, "responseElements": resp}
        }))
        .unwrap()
    }

    fn skipped(name: &str, req: Value, resp: Value) -> bool {
        matches!(
            classify(&event(name, req, resp)).unwrap(),
            Classified::Skip(_)
        )
    }

    #[test]
    fn zip_deploys_and_dry_runs_are_skipped_but_missing_parameters_are_read() {
        let update = "UpdateFunctionCode20150331v2";
        assert!(skipped(
            update,
            json!({"functionName": "f", "s3Bucket": "b", "s3Key": "k"}),
            Value::Null
        ));
        // Architectures with a .zip upload: still a .zip function.
        assert!(skipped(
            update,
            json!({"functionName": "f", "s3Bucket": "b", "architectures": ["arm64"]}),
            Value::Null
        ));
        assert!(skipped(
            update,
            json!({"functionName": "f", "imageUri": "x", "dryRun": true}),
            Value::Null
        ));
        assert!(skipped(
            "CreateFunction20150331",
            json!({"functionName": "f", "runtime": "python3.12"}),
            Value::Null
        ));
        assert!(skipped(
            "CreateFunction20150331",
            json!({"functionName": "f", "packageType": "Zip"}),
            Value::Null
        ));
        // Nothing says zip: the function is read (GetFunction tells its package type).
        assert!(!skipped(update, json!({"functionName": "f"}), Value::Null));
        assert!(
            !skipped(
                "CreateFunction20150331",
                Value::Null,
                json!({"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f"})
            ),
            "no request parameters: read it"
        );
    }

    /// CloudTrail's record of a .zip update carries no code in its request, but its response
    /// (the function's configuration) says `packageType: Zip` — as in the real record of
    /// events/change-lambda-update-function-code-zip-stratus.json.
    #[test]
    fn the_response_package_type_decides_without_a_read() {
        let req = json!({"functionName": "arn:aws:lambda:us-east-1:123456789012:function:f", "publish": true});
        assert!(skipped(
            "UpdateFunctionCode20150331v2",
            req.clone(),
            json!({"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f:1", "packageType": "Zip"})
        ));
        assert!(!skipped(
            "UpdateFunctionCode20150331v2",
            req.clone(),
            json!({"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f:1", "packageType": "Image"})
        ));
        // The earlier event name is the same call.
        let Classified::Judge(c) = classify(&event(
            "UpdateFunctionCode20150331",
            json!({"functionName": "f", "imageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/r:1"}),
            Value::Null,
        ))
        .unwrap() else {
            panic!("judged")
        };
        assert_eq!(c.event_name, "UpdateFunctionCode20150331");
    }
}
