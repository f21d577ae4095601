//! The event-only skips: what a push event is not judged for (replicated images with
//! `REPLICATION=off`, untagged children of a multi-platform push, the guard's own marker tags,
//! a second delivery of the same event).

use super::Guard;
use crate::act::message::Notify;
use crate::consumers::discovery::Discover;
use crate::event::Push;
use crate::handler::settings::Replication;
use crate::image::platform;
use crate::image::ports::Registry;
use crate::image::resolve::Resolution;
use crate::judge::verdict::Verdict;

impl<R: Registry, N: Notify, D: Discover> Guard<R, N, D> {
    /// Events not worth a read: replicated images with `REPLICATION=off`, and untagged children
    /// of a multi-platform push when the event says they are single manifests.
    pub(super) fn skip_unread(&self, push: &Push) -> Option<String> {
        if let (Some(from), Replication::Off) = (push.origin.describe(), self.settings.replication)
        {
            return Some(format!(
                "{from}: replicated images are not judged (REPLICATION=off)"
            ));
        }
        self.untagged_child(push, push.is_single_manifest())
    }

    /// Why an untagged push is a child judged with its index (`single`: it is one manifest).
    pub(super) fn untagged_child(&self, push: &Push, single: Option<bool>) -> Option<String> {
        (push.image.tag.is_none() && !self.settings.inspect_untagged && single == Some(true)).then(
            || {
                "untagged single-image push: a child of a multi-platform push, judged with its \
                 index (set INSPECT_UNTAGGED=true for repositories that push by digest)"
                    .to_string()
            },
        )
    }

    /// Why the pushed tag is the guard's own marker for this very image (its push event coming
    /// back), or `None`. Exact: `{arch}` must be the image's architectures, whatever they are, so
    /// no marker is ever judged and tagged again and no user tag is mistaken for one.
    pub(super) fn own_marker(&self, push: &Push, r: &Resolution) -> Option<String> {
        let tag = push.image.tag.as_deref()?;
        let template = &self.settings.tag_template;
        let archs = platform::architectures(&r.platforms());
        (template.could_be_marker(tag) && template.is_marker_for(tag, push.digest(), &archs)).then(
            || {
                format!(
                    "tag {tag:?} is the ecr-arch-guard marker tag of this image (template {:?}); not judged again",
                    template.as_str()
                )
            },
        )
    }

    /// The verdict of an earlier delivery of the same event, marked as such.
    pub(super) fn already_handled(&self, push: &Push) -> Option<Verdict> {
        let id = push.event_id.as_ref()?;
        let mut v = self.handled.get(id)?;
        v.mark_earlier_delivery(&format!(
            "duplicate delivery of event {id}: already handled"
        ));
        Some(v)
    }
}
