//! Lambda and image indexes: Lambda accepts only a single-image manifest. An image index pushed
//! under a tag a Lambda image function uses (multi-platform, or the one platform plus the
//! provenance attestation `docker buildx build` adds by default) is refused when the function
//! is created or updated to it ("The image manifest or layer media type for the source image
//! is not supported"). The function keeps running its old digest; the next deploy fails.
//!
//! Pure: which functions are affected, the image inside the index each could use instead, and
//! the fixes.

use crate::consumers::consumer::{Consumer, ConsumerKind};
use crate::image::digest::Digest;
use crate::image::platform::Platform;
use crate::image::resolve::Resolution;

/// A Lambda function that uses a tag now pointing at an image index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LambdaIndexUse {
    /// The function's name.
    pub function: String,
    /// Its architecture in Lambda's words (`x86_64`, `arm64`).
    pub architecture: String,
    pub platform: Platform,
    /// The index's own manifest for the function's platform: a digest Lambda accepts.
    pub platform_image: Option<Digest>,
}

/// The Lambda functions among `consumers` that cannot use the pushed image because it is an
/// index; empty for a single-image manifest.
pub fn uses(resolution: &Resolution, consumers: &[Consumer]) -> Vec<LambdaIndexUse> {
    if !resolution.is_index() {
        return Vec::new();
    }
    consumers
        .iter()
        .filter(|c| c.kind == ConsumerKind::LambdaFunction)
        .filter_map(|c| {
            let platform = c.platform.clone()?;
            Some(LambdaIndexUse {
                function: c.name.clone(),
                architecture: c.architecture_label.clone(),
                platform_image: resolution.entry_for(&platform),
                platform,
            })
        })
        .collect()
}

/// How [`warning`] starts (the alert shows its own section instead).
pub const WARNING_START: &str = "Lambda function(s) ";

/// What the verdict says about it.
pub fn warning(resolution: &Resolution, uses: &[LambdaIndexUse]) -> String {
    let why = if resolution.attestations > 0 {
        "this image index carries attestation manifests (buildx adds provenance by default)"
    } else {
        "this is a multi-platform image index"
    };
    let names: Vec<&str> = uses.iter().map(|u| u.function.as_str()).collect();
    format!(
        "{WARNING_START}{} use this image, and Lambda accepts only a single-platform image manifest: \
         {why}, so creating or updating the function fails with \"The image manifest or layer media \
         type for the source image is not supported\". Build one image per function architecture \
         without attestations: docker buildx build --platform linux/amd64 --provenance=false --sbom=false --push .",
        names.join(", ")
    )
}

/// The commands that fix it: point each function at the index's manifest for its platform (a
/// digest Lambda accepts), or push a single-platform image without attestations.
/// `repository_uri` is `ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO`, `image_uri` what was pushed.
pub fn fixes(repository_uri: &str, image_uri: &str, uses: &[LambdaIndexUse]) -> Vec<String> {
    let mut out = Vec::new();
    for u in uses {
        match &u.platform_image {
            Some(d) => out.push(format!(
                "Deploy function {} ({}) from the {} image inside the index:\n      \
                 aws lambda update-function-code --function-name {} --image-uri {repository_uri}@{d}",
                u.function, u.architecture, u.platform, u.function
            )),
            None => out.push(format!(
                "Function {} ({}): the index has no {} image; build one (below).",
                u.function, u.architecture, u.platform
            )),
        }
    }
    let mut platforms: Vec<String> = uses.iter().map(|u| u.platform.to_string()).collect();
    platforms.sort();
    platforms.dedup();
    for p in platforms {
        out.push(format!(
            "Push a single-platform {p} image without attestations for Lambda:\n      \
             docker buildx build --platform {p} --provenance=false --sbom=false --tag {image_uri} --push ."
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn index_resolution(bytes: &[u8]) -> Resolution {
        let store = crate::image::memory::MemoryFetch::new();
        let digest = store.put(bytes, Some(crate::image::media_type::OCI_INDEX));
        crate::image::resolve::resolve(
            &store,
            &digest,
            None,
            &crate::image::resolve::Limits::default(),
        )
        .await
        .unwrap()
    }

    fn function(name: &str, platform: &str, label: &str) -> Consumer {
        Consumer {
            kind: ConsumerKind::LambdaFunction,
            name: name.into(),
            arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            image: "img".into(),
            platform: Some(platform.parse().unwrap()),
            architecture_label: label.into(),
            detail: None,
        }
    }

    #[tokio::test]
    async fn each_function_gets_the_digest_of_its_platform_inside_the_index() {
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1,"platform":{"architecture":"amd64","os":"linux"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":1,"platform":{"architecture":"unknown","os":"unknown"},"annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}"#;
        let r = index_resolution(index).await;
        let consumers = vec![
            function("resize", "linux/amd64", "x86_64"),
            function("thumbs", "linux/arm64", "arm64"),
            Consumer {
                kind: ConsumerKind::EcsService,
                ..function("web", "linux/amd64", "X86_64")
            },
        ];
        let u = uses(&r, &consumers);
        assert_eq!(u.len(), 2, "Lambda functions only");
        assert_eq!(
            u[0].platform_image.as_ref().map(|d| d.to_string()),
            Some(format!("sha256:{}", "1".repeat(64)))
        );
        assert_eq!(u[1].platform_image, None, "no arm64 entry");
        let f = fixes(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/img",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:latest",
            &u,
        );
        assert!(f[0].contains(&format!(
            "--function-name resize --image-uri 123456789012.dkr.ecr.us-east-1.amazonaws.com/img@sha256:{}",
            "1".repeat(64)
        )));
        assert!(f[1].contains("has no linux/arm64 image"));
        assert!(f
            .iter()
            .any(|l| l.contains("--platform linux/arm64 --provenance=false")));
        assert!(warning(&r, &u).contains("attestation manifests"));
    }
}
