//! In-memory ports for testing the Guard's own rules without any SDK: a registry (documents by
//! digest, the repository's tags, the marker tags put) and an outbox that keeps the messages the
//! Guard asks to send. Both count their calls; each port call is one AWS call in the adapters
//! (their exact requests and error mapping are `ecr_sns_mocked.rs`'s concern).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ecr_arch_guard::act::message::Notify;
use ecr_arch_guard::act::message::{AttributeValue, Message};
use ecr_arch_guard::image::digest::Digest;
use ecr_arch_guard::image::media_type::{self, MediaType};
use ecr_arch_guard::image::memory::MemoryFetch;
use ecr_arch_guard::image::ports::{Fetch, Fetched, Registry, TagOutcome};
use ecr_arch_guard::image::Repository;
use ecr_arch_guard::Error;

use super::fixtures::{fixture, images};

/// The one repository the registry holds (the events in `events/` push to it).
pub const REPOSITORY: &str = "grafana";

/// A marker tag put by the Guard.
#[derive(Clone, Debug)]
pub struct PutTag {
    pub repository: String,
    pub tag: String,
    pub digest: Digest,
    pub media_type: MediaType,
    pub manifest: Vec<u8>,
}

/// How the registry answers a put.
#[derive(Clone, Debug)]
pub enum PutAnswer {
    Tagged,
    AlreadyTagged,
    /// A permanent failure with this text (an immutable repository, a denied PutImage).
    Fails(String),
}

#[derive(Debug)]
struct State {
    docs: MemoryFetch,
    repository_tags: Mutex<Vec<(String, String)>>,
    tag_reads: AtomicUsize,
    puts: Mutex<Vec<PutTag>>,
    put_answer: Mutex<PutAnswer>,
    /// Image tags of the repository: `latest` (arm64 only), `multi` (the index), `amd`.
    tags: Vec<(&'static str, Digest)>,
}

/// The registry: `grafana` with the arm64-only image, the multi-platform index and the amd64
/// hello-world image of `events/`, configs included. Clones share the state.
#[derive(Clone, Debug)]
pub struct MemoryRegistry(Arc<State>);

/// Calls made so far: `[manifests, blobs, repository tags, puts]`.
pub type Calls = [usize; 4];

impl MemoryRegistry {
    pub fn new() -> MemoryRegistry {
        MemoryRegistry::build(true)
    }

    /// The same manifests, but their image configs are gone (deleted mid-flight).
    pub fn without_configs() -> MemoryRegistry {
        MemoryRegistry::build(false)
    }

    fn build(configs: bool) -> MemoryRegistry {
        let docs = MemoryFetch::new();
        for (name, mt) in [
            (images::ARM_MANIFEST, media_type::OCI_MANIFEST),
            (images::INDEX, media_type::OCI_INDEX),
            (images::AMD_MANIFEST, media_type::OCI_MANIFEST),
        ] {
            docs.put(&fixture(name), Some(mt));
        }
        if configs {
            for name in [images::ARM_CONFIG, images::AMD_CONFIG] {
                docs.put(&fixture(name), None);
            }
        }
        let tags = [
            ("latest", images::ARM_MANIFEST),
            ("multi", images::INDEX),
            ("amd", images::AMD_MANIFEST),
        ]
        .map(|(tag, name)| (tag, Digest::of(&fixture(name))))
        .to_vec();
        MemoryRegistry(Arc::new(State {
            tags,
            docs,
            repository_tags: Mutex::default(),
            tag_reads: AtomicUsize::new(0),
            puts: Mutex::default(),
            put_answer: Mutex::new(PutAnswer::Tagged),
        }))
    }

    /// Sets the repository's resource tag `key` (e.g. `ecr-arch-guard:platforms`).
    pub fn set_repository_tag(&self, key: &str, value: &str) {
        self.0
            .repository_tags
            .lock()
            .unwrap()
            .push((key.into(), value.into()));
    }

    pub fn answer_puts(&self, answer: PutAnswer) {
        *self.0.put_answer.lock().unwrap() = answer;
    }

    pub fn calls(&self) -> Calls {
        let (manifests, blobs) = self.0.docs.reads();
        [
            manifests,
            blobs,
            self.0.tag_reads.load(Ordering::SeqCst),
            self.0.puts.lock().unwrap().len(),
        ]
    }

    pub fn puts(&self) -> Vec<PutTag> {
        self.0.puts.lock().unwrap().clone()
    }

    fn check(repo: &Repository) -> Result<(), Error> {
        if repo.name == REPOSITORY {
            Ok(())
        } else {
            Err(Error::NotFound(format!("repository {}", repo.name)))
        }
    }
}

impl Registry for MemoryRegistry {
    async fn manifest(
        &self,
        repo: &Repository,
        digest: &Digest,
        max: u64,
    ) -> Result<Fetched, Error> {
        Self::check(repo)?;
        Fetch::manifest(&self.0.docs, digest, None, max).await
    }

    async fn blob(&self, repo: &Repository, digest: &Digest, max: u64) -> Result<Vec<u8>, Error> {
        Self::check(repo)?;
        Fetch::blob(&self.0.docs, digest, max).await
    }

    async fn manifest_by_tag(
        &self,
        repo: &Repository,
        tag: &str,
        max: u64,
    ) -> Result<Fetched, Error> {
        Self::check(repo)?;
        let Some((_, digest)) = self.0.tags.iter().find(|(t, _)| *t == tag) else {
            return Err(Error::NotFound(format!("image {}:{tag}", repo.name)));
        };
        Fetch::manifest(&self.0.docs, digest, None, max).await
    }

    async fn repository_tags(&self, repo: &Repository) -> Result<Vec<(String, String)>, Error> {
        Self::check(repo)?;
        self.0.tag_reads.fetch_add(1, Ordering::SeqCst);
        Ok(self.0.repository_tags.lock().unwrap().clone())
    }

    async fn put_tag(
        &self,
        repo: &Repository,
        manifest: &[u8],
        media_type: &MediaType,
        digest: &Digest,
        tag: &str,
    ) -> Result<TagOutcome, Error> {
        Self::check(repo)?;
        self.0.puts.lock().unwrap().push(PutTag {
            repository: repo.name.clone(),
            tag: tag.into(),
            digest: digest.clone(),
            media_type: media_type.clone(),
            manifest: manifest.to_vec(),
        });
        match self.0.put_answer.lock().unwrap().clone() {
            PutAnswer::Tagged => Ok(TagOutcome::Tagged),
            PutAnswer::AlreadyTagged => Ok(TagOutcome::AlreadyTagged),
            PutAnswer::Fails(why) => Err(Error::Permanent(why)),
        }
    }
}

/// The notifier: keeps every message it is asked to send; fails every send while `failing`.
#[derive(Clone, Debug, Default)]
pub struct Outbox {
    sent: Arc<Mutex<Vec<Message>>>,
    attempts: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl Outbox {
    pub fn sent(&self) -> Vec<Message> {
        self.sent.lock().unwrap().clone()
    }

    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl Notify for Outbox {
    async fn publish(&self, message: &Message) -> Result<(), Error> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::Transient("the topic is unavailable".into()));
        }
        self.sent.lock().unwrap().push(message.clone());
        Ok(())
    }
}

/// A message attribute's value as text: a `Text` as is, a `List` as its elements joined by `,`.
pub fn attribute(message: &Message, name: &str) -> Option<String> {
    message
        .attributes
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| match v {
            AttributeValue::Text(s) => s.clone(),
            AttributeValue::List(l) => l.join(","),
        })
}
