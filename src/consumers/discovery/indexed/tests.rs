//! The consumer index through discovery: seeding, reads, refreshes, changes, races.
use super::*;
use crate::consumers::consumer::ConsumerKind;
use crate::consumers::discovery::DiscoveryConfig;
use crate::consumers::index_store::MemoryIndexStore;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// An estate whose listing is counted.
#[derive(Default)]
struct Estate {
    consumers: Mutex<Vec<Consumer>>,
    listings: AtomicUsize,
}

impl Discover for Estate {
    async fn consumers(&self, _: &RegistryId, service: Service) -> Result<Vec<Consumer>, Error> {
        self.listings.fetch_add(1, Ordering::SeqCst);
        let all = self.consumers.lock().unwrap();
        Ok(all
            .iter()
            .filter(|c| c.kind.service() == service)
            .cloned()
            .collect())
    }
}

fn web(image: &str) -> Consumer {
    Consumer {
        kind: ConsumerKind::EcsService,
        name: "prod/web".into(),
        arn: "arn:aws:ecs:us-east-1:123456789012:service/prod/web".into(),
        image: format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{image}"),
        platform: "linux/amd64".parse().ok(),
        architecture_label: "X86_64".into(),
        detail: None,
    }
}

struct World {
    discovery: Discovery<Arc<Estate>>,
    estate: Arc<Estate>,
    store: Arc<MemoryIndexStore>,
    now: Arc<AtomicU64>,
    scope: RegistryId,
}

impl Discover for Arc<Estate> {
    async fn consumers(
        &self,
        scope: &RegistryId,
        service: Service,
    ) -> Result<Vec<Consumer>, Error> {
        self.as_ref().consumers(scope, service).await
    }
}

fn world() -> World {
    let estate = Arc::new(Estate::default());
    estate.consumers.lock().unwrap().push(web("web:1"));
    let store = Arc::new(MemoryIndexStore::new());
    let now = Arc::new(AtomicU64::new(1_000_000));
    let clock = now.clone();
    let discovery = Discovery::new(
        DiscoveryConfig {
            services: vec![Service::Ecs, Service::Lambda],
            ..DiscoveryConfig::default()
        },
        estate.clone(),
    )
    .with_index(store.clone())
    .with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
    World {
        discovery,
        estate,
        store,
        now,
        scope: RegistryId::new(Some("123456789012"), Some("us-east-1")),
    }
}

#[tokio::test(start_paused = true)]
async fn without_an_index_the_first_push_lists_and_seeds_it_then_pushes_read_it() {
    let w = world();
    let s = w.discovery.snapshot(&w.scope).await;
    assert_eq!(s.consumers.len(), 1);
    assert!(s.notes[0].contains("no consumer index"), "{:?}", s.notes);
    assert_eq!(
        w.estate.listings.load(Ordering::SeqCst),
        2,
        "ecs and lambda"
    );
    assert!(w.store.body(&w.scope).is_some(), "seeded");

    // Another environment: one conditional read, no listing, no note.
    let other = world();
    let other = Discovery::new(w.discovery.config.clone(), w.estate.clone())
        .with_index(w.store.clone())
        .with_clock(Arc::new({
            let now = other.now.clone();
            move || now.load(Ordering::SeqCst)
        }));
    let reads = w.store.reads.load(Ordering::SeqCst);
    for _ in 0..3 {
        let s = other.snapshot(&w.scope).await;
        assert_eq!((s.consumers.len(), s.notes.len()), (1, 0));
        assert!(s.complete());
    }
    assert_eq!(w.store.reads.load(Ordering::SeqCst) - reads, 3);
    assert_eq!(w.estate.listings.load(Ordering::SeqCst), 2, "nobody listed");
}

#[tokio::test(start_paused = true)]
async fn a_refresh_and_a_change_both_land_and_a_stale_part_is_listed_directly() {
    let w = world();
    let report = w.discovery.refresh(&w.scope).await.unwrap();
    assert_eq!((report.consumers, report.write_attempts), (1, 1));
    assert_eq!(report.listed, vec![Service::Ecs, Service::Lambda]);

    // prod/web now runs web:2: the consumer change writes its slot.
    w.estate.consumers.lock().unwrap()[0] = web("web:2");
    let slot = Slot::new(ConsumerKind::EcsService, "prod/web");
    assert!(w
        .discovery
        .record_change(&w.scope, &slot, vec![web("web:2")])
        .await
        .unwrap());
    let listings = w.estate.listings.load(Ordering::SeqCst);
    let s = w.discovery.snapshot(&w.scope).await;
    assert!(s.consumers[0].image.ends_with("web:2"));
    assert_eq!(w.estate.listings.load(Ordering::SeqCst), listings);

    // 16 minutes without a refresh: older than the 15 allowed, listed here, said so.
    w.now.fetch_add(16 * 60, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(16 * 60)).await;
    let s = w.discovery.snapshot(&w.scope).await;
    assert_eq!(s.notes.len(), 2, "{:?}", s.notes);
    assert!(s.notes[0].contains("960 s old"), "{:?}", s.notes);
    assert!(s.complete());
    assert_eq!(w.estate.listings.load(Ordering::SeqCst), listings + 2);
}

/// A store where someone else writes just before the first write of ours.
struct Contended {
    inner: Arc<MemoryIndexStore>,
    raced: AtomicUsize,
}

impl IndexStore for Contended {
    fn read<'a>(
        &'a self,
        scope: &'a RegistryId,
        held: Option<&'a str>,
    ) -> futures_util::future::BoxFuture<'a, Result<IndexRead, Error>> {
        self.inner.read(scope, held)
    }

    fn write<'a>(
        &'a self,
        scope: &'a RegistryId,
        body: Vec<u8>,
        expect: Expect,
    ) -> futures_util::future::BoxFuture<'a, Result<Written, Error>> {
        Box::pin(async move {
            if self.raced.fetch_add(1, Ordering::SeqCst) == 0 {
                if let Expect::Version(v) = &expect {
                    // A consumer change lands between our read and our write.
                    let IndexRead::Current { body: theirs, .. } =
                        self.inner.read(scope, None).await?
                    else {
                        unreachable!()
                    };
                    let mut index = ConsumerIndex::decode(&theirs)?;
                    let api = Consumer {
                        name: "prod/api".into(),
                        arn: "arn:aws:ecs:us-east-1:123456789012:service/prod/api".into(),
                        ..web("api:1")
                    };
                    let slot = Slot::of(&api);
                    index.apply_change(&slot, vec![api], u64::MAX / 2);
                    self.inner
                        .write(scope, index.encode(), Expect::Version(v.clone()))
                        .await?;
                }
            }
            self.inner.write(scope, body, expect).await
        })
    }

    fn scopes(&self) -> futures_util::future::BoxFuture<'_, Result<Vec<RegistryId>, Error>> {
        self.inner.scopes()
    }
}

#[tokio::test(start_paused = true)]
async fn a_refresh_that_loses_the_race_reads_again_and_keeps_the_change() {
    let w = world();
    w.discovery.refresh(&w.scope).await.unwrap();
    let contended = Arc::new(Contended {
        inner: w.store.clone(),
        raced: AtomicUsize::new(0),
    });
    let d = Discovery::new(w.discovery.config.clone(), w.estate.clone())
        .with_index(contended)
        .with_clock(Arc::new(|| 2_000_000));
    let report = d.refresh(&w.scope).await.unwrap();
    assert_eq!(report.write_attempts, 2);
    let index = ConsumerIndex::decode(&w.store.body(&w.scope).unwrap()).unwrap();
    let names: Vec<&str> = index.consumers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["prod/api", "prod/web"],
        "the change survived the refresh"
    );
    assert_eq!(w.store.conflicts.load(Ordering::SeqCst), 1);
}
