//! `ecr-arch-guard check REPO[:TAG|@DIGEST]`: the Lambda's judgement on demand, as a deploy gate.

use clap::Args;

use super::connect::{self, AwsArgs, PolicyArgs};
use super::Format;
use crate::event::{Origin, Push};
use crate::image::ports::Catalog;
use crate::image::Image;
use crate::judge::verdict::Verdict;
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
        let mut image = Image::parse_reference(&self.image)?;
        let region = image.repository.registry.region.clone();
        let guard = connect::guard(&self.aws.connection(region.as_deref()), &self.policy).await?;
        // A tag is resolved to its digest once (DescribeImages); everything after reads by digest.
        if let (None, Some(tag)) = (&image.digest, &image.tag) {
            let listed = guard
                .registry()
                .image_by_tag(&image.repository, tag)
                .await?;
            image.digest = Some(listed.digest);
            image.media_type = listed.media_type;
        }
        let push = Push::new(None, image, Origin::Push)
            .ok_or_else(|| Error::Usage(format!("{}: no tag and no digest", self.image)))?;
        let verdict = guard.check(&push).await?;
        super::print(&verdict, &self.image, self.format)?;
        Ok(verdict)
    }
}
