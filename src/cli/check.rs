//! `ecr-arch-guard check REPO[:TAG|@DIGEST]`: the Lambda's judgement on demand, as a deploy gate.

use clap::Args;

use super::connect::{self, AwsArgs, PolicyArgs};
use super::reference::Reference;
use super::Format;
use crate::event::{Origin, Push};
use crate::ports::{Catalog, RepoRef};
use crate::verdict::Verdict;
use crate::Error;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// REPOSITORY[:TAG|@sha256:DIGEST] in your registry, or a full ECR image URI.
    pub image: String,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub aws: AwsArgs,
}

impl CheckArgs {
    pub async fn run(self) -> Result<Verdict, Error> {
        let reference = Reference::parse(&self.image)?;
        let guard = connect::guard(
            &self.aws.connection(reference.region.as_deref()),
            &self.policy,
        )
        .await?;
        let repo = RepoRef {
            registry_id: reference.account.clone(),
            region: reference.region.clone(),
            name: reference.repository.clone(),
        };
        // A tag is resolved to its digest once (DescribeImages); everything after reads by digest.
        let (digest, media_type) = match (&reference.digest, &reference.tag) {
            (Some(d), _) => (d.clone(), None),
            (None, Some(tag)) => {
                let image = guard.registry().image_by_tag(&repo, tag).await?;
                (image.digest, image.media_type)
            }
            (None, None) => unreachable!("Reference::parse defaults the tag to latest"),
        };
        let push = Push {
            event_id: None,
            account: reference.account.clone(),
            region: reference.region.clone(),
            repository: reference.repository.clone(),
            digest,
            tag: reference.tag.clone(),
            manifest_media_type: media_type,
            origin: Origin::Push,
        };
        let verdict = guard.check(&push).await?;
        super::print(&verdict, &self.image, self.format)?;
        Ok(verdict)
    }
}
