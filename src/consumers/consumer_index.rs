//! The consumer index: what discovery found in one account and region, written by one refresher
//! and read by every guard environment, so that a push costs one read whatever the size of the
//! estate (the store is an adapter: [`crate::consumers::index_store`]). Pure: the document, how fresh each
//! service's part of it is, the slot each consumer occupies, and the two ways it changes — a
//! refresh (a whole listing) and a consumer change (one slot, read when the CloudTrail event
//! that changed it arrives).
//!
//! A refresh and a change can overlap: a change indexed after the refresh's listing began is
//! newer than (or as new as) what the listing saw of that slot, so the refresh keeps it.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::consumers::consumer::Consumer;
use crate::consumers::service::Service;
use crate::util::error::Error;

mod slot;

pub use slot::Slot;

/// The document's format; another one is read as missing (and rewritten by the next refresh).
pub const FORMAT: u32 = 1;

/// The largest index read back (gzip expands it; a runaway object is refused, not parsed).
pub const MAX_INDEX_BYTES: u64 = 64 * 1024 * 1024;

/// One account and region's consumers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerIndex {
    pub format: u32,
    /// Per service: when it was last listed in full, and the last attempt's error.
    pub services: BTreeMap<Service, Listing>,
    pub consumers: Vec<Consumer>,
    /// Slots consumer changes wrote, and when: a refresh whose listing began earlier keeps them.
    #[serde(default)]
    pub changes: Vec<SlotChange>,
}

/// When a service was last listed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// When the last complete listing began, in seconds since the Unix epoch (0: never).
    pub listed_at: u64,
    /// Why the last attempt failed (its consumers are then the previous listing's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A slot a consumer change wrote, at `at` (seconds since the Unix epoch).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotChange {
    pub slot: Slot,
    pub at: u64,
}

/// How fresh one service's part of an index is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Freshness {
    Fresh,
    /// Last listed `age` seconds ago, longer than allowed (with the last error, if any).
    Stale {
        age: u64,
        error: Option<String>,
    },
    /// Never listed completely (with the last error, if any).
    Missing {
        error: Option<String>,
    },
}

impl ConsumerIndex {
    /// How fresh `service`'s consumers are at `now`, given the longest age allowed.
    pub fn freshness(&self, service: Service, now: u64, max_age: u64) -> Freshness {
        match self.services.get(&service) {
            None => Freshness::Missing { error: None },
            Some(l) if l.listed_at == 0 => Freshness::Missing {
                error: l.error.clone(),
            },
            Some(l) => {
                let age = now.saturating_sub(l.listed_at);
                if age <= max_age {
                    Freshness::Fresh
                } else {
                    Freshness::Stale {
                        age,
                        error: l.error.clone(),
                    }
                }
            }
        }
    }

    /// The consumers of `service`.
    pub fn consumers_of(&self, service: Service) -> impl Iterator<Item = &Consumer> {
        self.consumers
            .iter()
            .filter(move |c| c.kind.service() == service)
    }

    /// The index after a refresh whose listing began at `started`: each service listed
    /// successfully is replaced by what was listed, except the slots changes wrote since
    /// `started`; a service whose listing failed keeps its previous consumers and age, with the
    /// error; services not listed now stay as they were.
    pub fn refreshed(
        previous: Option<&ConsumerIndex>,
        listed: Vec<(Service, Result<Vec<Consumer>, String>)>,
        started: u64,
    ) -> ConsumerIndex {
        let empty = ConsumerIndex::default();
        let previous = previous.unwrap_or(&empty);
        let mut out = ConsumerIndex {
            format: FORMAT,
            services: previous.services.clone(),
            consumers: Vec::new(),
            changes: Vec::new(),
        };
        let mut replaced = Vec::new();
        for (service, result) in listed {
            let listing = out.services.entry(service).or_default();
            match result {
                Ok(found) => {
                    *listing = Listing {
                        listed_at: started,
                        error: None,
                    };
                    out.consumers.extend(found);
                    replaced.push(service);
                }
                Err(reason) => listing.error = Some(reason),
            }
        }
        out.consumers.extend(
            previous
                .consumers
                .iter()
                .filter(|c| !replaced.contains(&c.kind.service()))
                .cloned(),
        );
        for change in &previous.changes {
            let fresh_listing = replaced.contains(&change.slot.kind.service());
            if fresh_listing && change.at < started {
                // The listing began after the change: it saw it.
                continue;
            }
            if fresh_listing {
                out.consumers.retain(|c| Slot::of(c) != change.slot);
                out.consumers.extend(
                    previous
                        .consumers
                        .iter()
                        .filter(|c| Slot::of(c) == change.slot)
                        .cloned(),
                );
            }
            out.changes.push(change.clone());
        }
        out.normalise();
        out
    }

    /// Writes a consumer change: `slot` now holds `state` (empty: it runs no image, or it no
    /// longer exists), as read at `at`.
    pub fn apply_change(&mut self, slot: &Slot, state: Vec<Consumer>, at: u64) {
        self.consumers.retain(|c| &Slot::of(c) != slot);
        self.consumers
            .extend(state.into_iter().filter(|c| &Slot::of(c) == slot));
        self.changes.retain(|c| &c.slot != slot);
        self.changes.push(SlotChange {
            slot: slot.clone(),
            at,
        });
        self.normalise();
    }

    /// One order, so equal indexes are equal bytes (and an unchanged one keeps its ETag).
    fn normalise(&mut self) {
        self.consumers.sort_by(|a, b| {
            (a.kind, &a.arn, &a.image, &a.platform).cmp(&(b.kind, &b.arn, &b.image, &b.platform))
        });
        self.consumers.dedup();
        self.changes.sort_by(|a, b| a.slot.cmp(&b.slot));
    }

    /// The stored form: gzip-compressed JSON.
    pub fn encode(&self) -> Vec<u8> {
        let json = serde_json::to_vec(self).expect("an index always serialises");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&json).expect("writing to memory");
        gz.finish().expect("writing to memory")
    }

    /// Reads the stored form back; another format is [`Error::NotFound`] (the refresher
    /// rewrites it), anything unreadable [`Error::Malformed`].
    pub fn decode(bytes: &[u8]) -> Result<ConsumerIndex, Error> {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_INDEX_BYTES + 1)
            .read_to_end(&mut json)
            .map_err(|e| Error::Malformed(format!("consumer index: not gzip ({e})")))?;
        if json.len() as u64 > MAX_INDEX_BYTES {
            return Err(Error::Malformed(format!(
                "consumer index: larger than {MAX_INDEX_BYTES} bytes"
            )));
        }
        #[derive(Deserialize)]
        struct Head {
            format: u32,
        }
        let head: Head = serde_json::from_slice(&json)
            .map_err(|e| Error::Malformed(format!("consumer index: {e}")))?;
        if head.format != FORMAT {
            return Err(Error::NotFound(format!(
                "consumer index of format {} (this guard reads {FORMAT})",
                head.format
            )));
        }
        serde_json::from_slice(&json).map_err(|e| Error::Malformed(format!("consumer index: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumers::consumer::ConsumerKind;

    const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    fn service(cluster: &str, name: &str, image: &str) -> Consumer {
        Consumer {
            kind: ConsumerKind::EcsService,
            name: format!("{cluster}/{name}"),
            arn: format!("arn:aws:ecs:us-east-1:123456789012:service/{cluster}/{name}"),
            image: format!("{ECR}/{image}"),
            platform: "linux/amd64".parse().ok(),
            architecture_label: "X86_64".into(),
            detail: Some("Fargate".into()),
        }
    }

    fn function(name: &str, image: &str) -> Consumer {
        Consumer {
            kind: ConsumerKind::LambdaFunction,
            name: name.into(),
            arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            image: format!("{ECR}/{image}"),
            platform: "linux/arm64".parse().ok(),
            architecture_label: "arm64".into(),
            detail: None,
        }
    }

    #[test]
    fn freshness_per_service() {
        let mut index = ConsumerIndex::refreshed(
            None,
            vec![
                (Service::Ecs, Ok(vec![service("prod", "web", "web:1")])),
                (Service::Lambda, Err("AccessDeniedException".into())),
            ],
            1_000,
        );
        assert_eq!(index.freshness(Service::Ecs, 1_300, 900), Freshness::Fresh);
        assert_eq!(
            index.freshness(Service::Ecs, 2_000, 900),
            Freshness::Stale {
                age: 1_000,
                error: None
            }
        );
        assert_eq!(
            index.freshness(Service::Lambda, 1_000, 900),
            Freshness::Missing {
                error: Some("AccessDeniedException".into())
            }
        );
        assert_eq!(
            index.freshness(Service::Batch, 1_000, 900),
            Freshness::Missing { error: None }
        );
        // A later failure keeps the consumers and the age of the last good listing.
        index = ConsumerIndex::refreshed(
            Some(&index),
            vec![(Service::Ecs, Err("ThrottlingException".into()))],
            1_500,
        );
        assert_eq!(index.consumers_of(Service::Ecs).count(), 1);
        assert_eq!(index.services[&Service::Ecs].listed_at, 1_000);
        assert_eq!(
            index.services[&Service::Ecs].error.as_deref(),
            Some("ThrottlingException")
        );
    }

    #[test]
    fn a_change_replaces_its_slot_and_survives_a_refresh_that_began_before_it() {
        let mut index = ConsumerIndex::refreshed(
            None,
            vec![
                (
                    Service::Ecs,
                    Ok(vec![
                        service("prod", "web", "web:1"),
                        service("prod", "api", "api:1"),
                    ]),
                ),
                (Service::Lambda, Ok(vec![function("thumbs", "thumbs:1")])),
            ],
            1_000,
        );
        // prod/web moves to web:2 at 1,100; thumbs is deleted at 1,150.
        let web = Slot::new(ConsumerKind::EcsService, "prod/web");
        index.apply_change(&web, vec![service("prod", "web", "web:2")], 1_100);
        index.apply_change(
            &Slot::new(ConsumerKind::LambdaFunction, "thumbs"),
            vec![],
            1_150,
        );
        assert_eq!(index.consumers.len(), 2);
        assert!(index.consumers.iter().any(|c| c.image.ends_with("web:2")));

        // A refresh that began at 1,050 listed the old state: the changes win.
        let listed_early = vec![
            (
                Service::Ecs,
                Ok(vec![
                    service("prod", "web", "web:1"),
                    service("prod", "api", "api:1"),
                ]),
            ),
            (Service::Lambda, Ok(vec![function("thumbs", "thumbs:1")])),
        ];
        let after = ConsumerIndex::refreshed(Some(&index), listed_early, 1_050);
        let images: Vec<&str> = after.consumers.iter().map(|c| c.image.as_str()).collect();
        assert_eq!(images.len(), 2, "{images:?}");
        assert!(images.iter().any(|i| i.ends_with("web:2")));
        assert!(images.iter().all(|i| !i.ends_with("thumbs:1")));
        assert_eq!(after.changes.len(), 2, "kept for the next refresh");

        // One that began after them saw them: the listing alone decides, the changes go.
        let listed_late = vec![
            (Service::Ecs, Ok(vec![service("prod", "web", "web:3")])),
            (Service::Lambda, Ok(vec![])),
        ];
        let later = ConsumerIndex::refreshed(Some(&after), listed_late, 1_200);
        assert_eq!(later.consumers.len(), 1);
        assert!(later.consumers[0].image.ends_with("web:3"));
        assert!(later.changes.is_empty());
    }

    #[test]
    fn encodes_to_stable_gzip_json_and_refuses_other_formats_and_garbage() {
        let index = ConsumerIndex::refreshed(
            None,
            vec![(
                Service::Ecs,
                Ok(vec![
                    service("prod", "web", "web:1"),
                    service("prod", "api", "api:1"),
                ]),
            )],
            7,
        );
        let bytes = index.encode();
        assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzip");
        assert_eq!(ConsumerIndex::decode(&bytes).unwrap(), index);
        let reordered = ConsumerIndex::refreshed(
            None,
            vec![(
                Service::Ecs,
                Ok(vec![
                    service("prod", "api", "api:1"),
                    service("prod", "web", "web:1"),
                ]),
            )],
            7,
        );
        assert_eq!(reordered.encode(), bytes, "same content, same bytes");

        let mut other = index.clone();
        other.format = 2;
        assert!(matches!(
            ConsumerIndex::decode(&other.encode()),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            ConsumerIndex::decode(b"{}"),
            Err(Error::Malformed(_))
        ));
    }
}
