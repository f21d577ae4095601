//! What a mismatch will break and how to fix it, in words a DevOps engineer can act on.

use crate::image::platform::Platform;
use crate::judge::verdict::Verdict;

/// Which AWS runtimes will refuse the image, for each missing platform.
pub fn consequences(missing: &[Platform]) -> Vec<String> {
    missing
        .iter()
        .map(|m| match (m.os.as_str(), m.architecture.as_str()) {
            ("linux", "amd64") => "linux/amd64 hosts fail to start it with `exec format error`: App Runner \
                (x86_64 only), ECS tasks with runtimePlatform.cpuArchitecture X86_64 or unset, Lambda \
                functions on x86_64 (the default), AWS Batch and EC2 on x86."
                .to_string(),
            ("linux", "arm64") => "linux/arm64 hosts fail to start it with `exec format error`: ECS/Fargate \
                tasks on ARM64, Lambda functions on arm64, AWS Batch and EC2 on Graviton."
                .to_string(),
            _ => format!("{m} hosts fail to start it with `exec format error`."),
        })
        .collect()
}

/// Commands that fix the image, with the real image reference. `image` is what the consumers
/// pull (e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/grafana:latest`).
pub fn fix_commands(image: &str, verdict: &Verdict) -> Vec<String> {
    let needed: Vec<String> = {
        let mut all: Vec<String> = verdict
            .platforms
            .iter()
            .chain(verdict.missing.iter())
            .map(ToString::to_string)
            .collect();
        all.sort();
        all.dedup();
        all
    };
    let first_missing = verdict
        .missing
        .first()
        .map(ToString::to_string)
        .unwrap_or_else(|| "linux/amd64".into());
    let mut out = vec![
        format!("See what was pushed:  docker buildx imagetools inspect {image}"),
        format!(
            "Re-pushed a public image from a Mac? Pull the right platform, then tag and push again:\n      \
             docker pull --platform {first_missing} SOURCE_IMAGE && docker tag SOURCE_IMAGE {image} && docker push {image}"
        ),
        format!("Or copy every platform of it:  docker buildx imagetools create --tag {image} SOURCE_IMAGE"),
        format!(
            "Building it yourself? Build for every platform:\n      docker buildx build --platform {} --tag {image} --push .",
            needed.join(",")
        ),
        format!("Check a local image:  docker inspect --format '{{{{.Os}}}}/{{{{.Architecture}}}}' {image}"),
    ];
    let arm64_only = !verdict.platforms.is_empty()
        && verdict.platforms.iter().all(|p| p.architecture == "arm64");
    if arm64_only {
        out.push(
            "Or run the consumers on arm64 (Graviton): ECS runtimePlatform.cpuArchitecture ARM64, \
             Lambda Architectures [arm64] (App Runner has no arm64)."
                .to_string(),
        );
    }
    out
}

/// The fixes for a mislabelled image: its executables are of another architecture than its
/// label, usually a prebuilt binary `COPY`ed into an image built for another platform.
pub fn mislabel_fixes(verdict: &Verdict) -> Vec<String> {
    let mut out = Vec::new();
    for c in verdict.deep.iter().filter(|c| c.mislabelled) {
        for e in &c.executables {
            let Some(p) = &e.platform else { continue };
            if p.architecture == c.label.architecture {
                continue;
            }
            out.push(format!(
                "{} is a {} binary in an image labelled {}: rebuild it for {} — build with \
                 `docker buildx build --platform {} …` so the toolchain cross-compiles (set \
                 GOARCH/TARGETARCH, or a Rust/C target, from buildx's TARGETPLATFORM), rather \
                 than COPYing a binary built for {}",
                e.path, p, c.label, c.label, c.label, p
            ));
        }
    }
    out.push(
        "Check what a binary is locally:  docker run --rm --entrypoint sh IMAGE -c 'uname -m' \
         fails with `exec format error` on a host of the label's platform; `file BINARY` names \
         its machine"
            .to_string(),
    );
    out
}
