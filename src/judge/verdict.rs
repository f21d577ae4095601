//! The judgement: `fits` | `mismatch` (with `missing`) | `not-an-image` | `skipped`, and the
//! JSON object the Lambda returns and logs and the CLI prints.

pub mod mislabelled;

use std::fmt;

use serde::Serialize;

use crate::event::change::ChangeReport;

use crate::binary::deep::DeepCheck;
use crate::consumers::consumer::ConsumerReport;
use crate::image::media_type::MediaType;
use crate::image::platform::Platform;
use crate::image::resolve::{Outcome, Resolution};
use crate::image::Image;
use crate::judge::policy::{Decision, RequiredFrom};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    Fits,
    Mismatch,
    Skipped,
    NotAnImage,
    /// The deep check found executables of another architecture than the config's label
    /// (see [`crate::binary::deep`]): the label loses; `runs_on` says what the image really runs on.
    Mislabelled,
}

impl fmt::Display for VerdictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerdictKind::Fits => "fits",
            VerdictKind::Mismatch => "mismatch",
            VerdictKind::Skipped => "skipped",
            VerdictKind::NotAnImage => "not-an-image",
            VerdictKind::Mislabelled => "mislabelled",
        })
    }
}

/// An action the guard takes on a mismatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// The marker tag (`latest-arm64-only`).
    Tag,
    /// The SNS alert.
    Alert,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Tag => "tag",
            ActionKind::Alert => "alert",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionStatus {
    Sent,
    Tagged,
    /// The tag already pointed at this digest.
    AlreadyTagged,
    /// Reported in `detail`; a failed tag never stops the alert.
    Failed,
    /// Dry run (`ecr-arch-guard event --dry-run`).
    WouldSend,
    WouldTag,
    /// Another delivery of the same event, in another environment, sent the alert or is
    /// sending it ([`crate::act::alert_claim`]): not sent again.
    OtherDelivery,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Sent => "sent",
            ActionStatus::Tagged => "tagged",
            ActionStatus::AlreadyTagged => "already-tagged",
            ActionStatus::Failed => "failed",
            ActionStatus::WouldSend => "would-send",
            ActionStatus::WouldTag => "would-tag",
            ActionStatus::OtherDelivery => "sent-by-another-delivery",
        }
    }
}

impl fmt::Display for ActionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Statuses compare with their JSON spelling (`status == "sent"`).
impl PartialEq<&str> for ActionStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<&str> for ActionKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// What happened to one action taken on a mismatch. In JSON, `status` says
/// `sent (earlier delivery)` when the event was delivered again and the action was not repeated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionReport {
    pub action: ActionKind,
    pub status: ActionStatus,
    /// The report repeats what an earlier delivery of the same event did.
    pub earlier_delivery: bool,
    /// The marker tag, the topic, or what failed.
    pub detail: Option<String>,
}

impl ActionReport {
    pub fn new(action: ActionKind, status: ActionStatus, detail: Option<String>) -> ActionReport {
        ActionReport {
            action,
            status,
            earlier_delivery: false,
            detail,
        }
    }

    /// `tagged`, or `tagged (earlier delivery)`.
    pub fn status_text(&self) -> String {
        if self.earlier_delivery {
            format!("{} (earlier delivery)", self.status)
        } else {
            self.status.to_string()
        }
    }
}

impl Serialize for ActionReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("action", &self.action)?;
        m.serialize_entry("status", &self.status_text())?;
        if let Some(d) = &self.detail {
            m.serialize_entry("detail", d)?;
        }
        m.end()
    }
}

/// The verdict object. Every field is always present (null or empty when it does not apply),
/// so subscribers and scripts can rely on the shape.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub verdict: VerdictKind,
    pub repository: Option<String>,
    pub tag: Option<String>,
    pub digest: Option<String>,
    pub media_type: Option<MediaType>,
    /// Normalised `os/arch[/variant]`, sorted, de-duplicated.
    pub platforms: Vec<Platform>,
    pub required: Vec<Platform>,
    pub required_from: Option<RequiredFrom>,
    pub missing: Vec<Platform>,
    /// The services found running this image (discovery), failures first.
    pub consumers: Vec<ConsumerReport>,
    pub actions: Vec<ActionReport>,
    pub reason: Option<String>,
    pub warnings: Vec<String>,
    /// Only in a verdict on a consumer change (see [`crate::event::change`]): the call, when, by
    /// whom, and the consumer it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeReport>,
    /// Only when the deep check ran (see [`crate::binary::deep`]): what the image's executables really
    /// run on (the label's platforms, corrected where they are mislabelled)…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs_on: Option<Vec<Platform>>,
    /// …and each image manifest's check: its executables, their ELF machines, what was read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deep: Vec<DeepCheck>,
}

impl Verdict {
    /// This verdict answered again for a later delivery: `note` before its reason, its actions
    /// marked as the earlier delivery's (done, not to be counted or done again).
    pub fn mark_earlier_delivery(&mut self, note: &str) {
        self.reason = Some(format!(
            "{note} ({})",
            self.reason.take().unwrap_or_default()
        ));
        for a in &mut self.actions {
            a.earlier_delivery = true;
        }
    }

    /// Whether an earlier delivery of the same event acted on this verdict.
    pub fn from_earlier_delivery(&self) -> bool {
        self.actions.iter().any(|a| a.earlier_delivery)
    }

    /// A verdict for an event that was not inspected.
    pub fn skipped(reason: impl Into<String>) -> Verdict {
        Verdict {
            verdict: VerdictKind::Skipped,
            repository: None,
            tag: None,
            digest: None,
            media_type: None,
            platforms: Vec::new(),
            required: Vec::new(),
            required_from: None,
            missing: Vec::new(),
            consumers: Vec::new(),
            actions: Vec::new(),
            reason: Some(reason.into()),
            warnings: Vec::new(),
            change: None,
            runs_on: None,
            deep: Vec::new(),
        }
    }

    /// Names the image the verdict is about (its repository, tag, digest, and media type when
    /// the verdict has none of its own).
    pub fn set_image(&mut self, image: &Image) {
        self.repository = Some(image.repository.name.clone());
        self.tag = image.tag.clone();
        self.digest = image.digest.as_ref().map(ToString::to_string);
        if self.media_type.is_none() {
            self.media_type = image.media_type.clone();
        }
    }

    /// Judges a resolved image against the policy's decision.
    pub fn judge(resolution: &Resolution, decision: &Decision) -> Verdict {
        let mut v = Verdict::skipped(String::new());
        v.reason = None;
        v.digest = Some(resolution.digest.to_string());
        v.media_type = Some(resolution.media_type.clone());
        v.platforms = resolution.platforms();
        match (&resolution.outcome, decision) {
            (Outcome::NotAnImage(why), _) => {
                v.verdict = VerdictKind::NotAnImage;
                v.reason = Some(why.clone());
            }
            (Outcome::Image(_), Decision::Off(from)) => {
                v.verdict = VerdictKind::Skipped;
                v.required_from = Some(from.clone());
                v.reason = Some(format!("checking is off for this repository ({from})"));
            }
            (Outcome::Image(_), Decision::Check(req)) => {
                v.required = req.platforms.clone();
                v.required_from = Some(req.from.clone());
                v.missing = missing(&v.platforms, &req.platforms);
                let have = crate::image::platform::join(&v.platforms);
                if v.missing.is_empty() {
                    v.verdict = VerdictKind::Fits;
                    v.reason = Some(format!(
                        "image provides {have}, which serves every required platform ({})",
                        crate::image::platform::join(&req.platforms)
                    ));
                } else {
                    v.verdict = VerdictKind::Mismatch;
                    v.reason = Some(format!(
                        "image provides only {have}; required {} ({}) is not served",
                        crate::image::platform::join(&v.missing),
                        req.from
                    ));
                }
            }
        }
        v
    }

    /// The image's architectures, sorted and de-duplicated (`linux/amd64` and
    /// `windows/amd64` are one `amd64`).
    pub fn architecture_list(&self) -> Vec<String> {
        crate::image::platform::architectures(&self.platforms)
    }

    /// `arm64` for an image that provides only arm64 variants, `amd64+arm64` otherwise.
    pub fn architectures(&self) -> String {
        self.architecture_list().join("+")
    }
}

/// Required platforms that no image platform serves.
pub fn missing(image: &[Platform], required: &[Platform]) -> Vec<Platform> {
    required
        .iter()
        .filter(|r| !image.iter().any(|p| p.runs_on(r)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::platform::parse_list;

    #[test]
    fn arm64_variants_serve_arm64_and_nothing_serves_amd64() {
        let image = parse_list("linux/arm64/v8,linux/arm/v7").unwrap();
        assert!(missing(&image, &parse_list("linux/arm64").unwrap()).is_empty());
        assert_eq!(
            missing(&image, &parse_list("linux/amd64,linux/arm64").unwrap()),
            parse_list("linux/amd64").unwrap()
        );
    }

    #[test]
    fn architectures_are_listed_once_across_operating_systems() {
        let mut v = Verdict::skipped("test");
        v.platforms = parse_list("linux/amd64,linux/arm64,windows/amd64").unwrap();
        v.platforms.sort();
        assert_eq!(v.architectures(), "amd64+arm64");
    }
}
