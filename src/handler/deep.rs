//! The guard's deep check (`DEEP_CHECK`, the CLI's `--deep`): after the label is judged, what the
//! image executes is read from its layers through the registry ([`crate::binary::deep`]), on a blocking
//! thread, within the budget; the verdict is corrected where the executables disagree with the
//! label. Each image's checks are kept in the warm environment. Never an error: what cannot be
//! checked is a warning on the verdict.

use std::sync::Arc;

use super::Guard;
use crate::act::message::Notify;
use crate::binary::deep;
use crate::consumers::discovery::Discover;
use crate::image::platform;
use crate::image::ports::Registry;
use crate::image::resolve::Resolution;
use crate::image::Repository;
use crate::judge::verdict::{Verdict, VerdictKind};

impl<R: Registry, N: Notify, D: Discover> Guard<R, N, D> {
    /// Deep-checks a judged image (when on) and applies what its executables say.
    pub(super) async fn deep_check(
        &self,
        repo: &Repository,
        resolution: &Resolution,
        verdict: &mut Verdict,
    ) {
        if !self.settings.deep.enabled
            || !matches!(verdict.verdict, VerdictKind::Fits | VerdictKind::Mismatch)
        {
            return;
        }
        let key = format!(
            "{}|{}",
            resolution.digest,
            platform::join(&verdict.required)
        );
        if let Some(checks) = self.deep_checks.get(&key) {
            crate::judge::verdict::mislabelled::apply(verdict, checks.as_ref().clone());
            return;
        }
        let not_checked = |verdict: &mut Verdict, why: String| {
            verdict
                .warnings
                .push(format!("deep check: not checked: {why}"));
        };
        let src = self.reads.fetch(&self.registry, repo);
        let targets =
            match deep::target::targets(&src, resolution, &verdict.required, &self.limits).await {
                Ok(t) if t.is_empty() => return,
                Ok(t) => t,
                Err(e) => return not_checked(verdict, e.to_string()),
            };
        let source = match self.registry.layer_source(repo).await {
            Ok(Some(s)) => s,
            Ok(None) => return not_checked(verdict, "this registry reads no layers".into()),
            Err(e) => return not_checked(verdict, e.to_string()),
        };
        let limits = self.settings.deep.limits;
        let checked =
            tokio::task::spawn_blocking(move || deep::check_all(&targets, &*source, limits)).await;
        match checked {
            Ok(checks) => {
                tracing::info!(
                    repository = %repo.name,
                    manifests = checks.len(),
                    downloaded = checks.iter().map(|c| c.downloaded_bytes).sum::<u64>(),
                    mislabelled = checks.iter().any(|c| c.mislabelled),
                    "deep check"
                );
                self.deep_checks.insert(key, Arc::new(checks.clone()));
                crate::judge::verdict::mislabelled::apply(verdict, checks);
            }
            Err(e) => not_checked(verdict, format!("the check stopped: {e}")),
        }
    }
}
