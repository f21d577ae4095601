//! `ecr-arch-guard inspect PATH`: judge an image saved on disk.

use std::path::PathBuf;

use clap::Args;

use crate::binary::layout::{Layout, Target};
use crate::binary::{deep, layer_stream};
use crate::image::platform;
use crate::image::resolve::{self, Limits};
use crate::judge::policy::{self, Decision, Inputs};
use crate::judge::verdict::Verdict;
use crate::Error;

use super::Format;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// OCI image layout directory, a tar of one (`docker save` since Docker 25), or a legacy
    /// `docker save` tar.
    pub path: PathBuf,
    /// Which image, when the layout holds several: an `org.opencontainers.image.ref.name` or
    /// `io.containerd.image.name` annotation, a RepoTags entry (legacy tar), or a digest.
    #[arg(long = "ref", value_name = "NAME")]
    pub reference: Option<String>,
    /// Platforms the image must run on, comma-separated [default: linux/amd64].
    #[arg(long, value_name = "PLATFORMS")]
    pub require: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Skip the deep check. By default the layers are read (from the top, only as far as
    /// needed) to find what the image executes — ENTRYPOINT/CMD through PATH, symbolic links and
    /// #! interpreters — and each ELF's machine is checked against the config's label.
    #[arg(long)]
    pub no_deep: bool,
}

impl InspectArgs {
    pub async fn run(self) -> Result<Verdict, Error> {
        let required = self
            .require
            .as_deref()
            .map(platform::parse_list)
            .transpose()?;
        let default = policy::default_platforms();
        let layout = Layout::open(&self.path)?;
        let candidate = layout.select(self.reference.as_deref())?;
        let limits = Limits::default();
        let resolution = match &candidate.target {
            Target::Manifest { digest, media_type } => {
                resolve::resolve(&layout, digest, media_type.as_deref(), &limits).await?
            }
            Target::LegacyConfig { path, .. } => layout.resolve_legacy(path, &limits)?,
        };
        let decision = policy::decide(
            "",
            &Inputs {
                flag: required.as_deref(),
                default: &default,
                ..Inputs::default()
            },
        );
        let mut verdict = Verdict::judge(&resolution, &decision);
        if !self.no_deep && matches!(decision, Decision::Check(_)) {
            let targets = match &candidate.target {
                Target::Manifest { .. } => {
                    deep::target::targets(&layout, &resolution, &verdict.required, &limits).await
                }
                Target::LegacyConfig { path, layers } => layout
                    .legacy_target(path, layers, &limits)
                    .map(|t| t.into_iter().collect()),
            };
            match targets {
                Ok(targets) => {
                    let checks =
                        deep::check_all(&targets, &layout, layer_stream::Limits::default());
                    crate::judge::verdict::mislabelled::apply(&mut verdict, checks);
                }
                // A layout without the documents the deep check needs is still judged by its
                // labels: the deep check says why it did not run, never fails the command.
                Err(Error::NotFound(what)) => verdict.warnings.push(format!(
                    "deep check: not checked: {what}; the layout was saved without the images \
                     themselves, so the labels alone were judged (--no-deep skips the deep check)"
                )),
                Err(e) => verdict
                    .warnings
                    .push(format!("deep check: not checked: {e}")),
            }
        }
        if let Decision::Check(_) = decision {
            let name = self
                .reference
                .clone()
                .or_else(|| candidate.names.first().cloned());
            if let Some(name) = &name {
                let (repo, tag) = split_name(name);
                verdict.repository = Some(repo).filter(|r| !r.is_empty());
                verdict.tag = tag;
            }
        }
        let image = self
            .reference
            .clone()
            .or_else(|| candidate.names.first().cloned())
            .unwrap_or_else(|| self.path.display().to_string());
        super::print(&verdict, &image, self.format)?;
        Ok(verdict)
    }
}

/// `docker.io/library/grafana:latest` → (`docker.io/library/grafana`, `latest`); a bare tag
/// (OCI `ref.name` is often just `latest`) has no repository.
fn split_name(name: &str) -> (String, Option<String>) {
    let last_slash = name.rfind('/').map(|i| i + 1).unwrap_or(0);
    match name[last_slash..].rfind(':') {
        Some(i) => (
            name[..last_slash + i].to_string(),
            Some(name[last_slash + i + 1..].to_string()),
        ),
        None if !name.contains('/') && !name.contains('.') => {
            (String::new(), Some(name.to_string()))
        }
        None => (name.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::split_name;

    #[test]
    fn splits_names() {
        assert_eq!(
            split_name("docker.io/library/grafana:latest"),
            ("docker.io/library/grafana".into(), Some("latest".into()))
        );
        assert_eq!(
            split_name("localhost:5000/app"),
            ("localhost:5000/app".into(), None)
        );
        assert_eq!(split_name("latest"), ("".into(), Some("latest".into())));
    }
}
