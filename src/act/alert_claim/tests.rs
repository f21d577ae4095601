//! The alert claims' rules, on the in-memory store and on one that loses answers.
use super::*;
use std::sync::atomic::{AtomicU64, Ordering};

fn claims(store: &Arc<MemoryClaims>, now: &Arc<AtomicU64>) -> AlertClaims {
    let now = now.clone();
    AlertClaims::new(store.clone()).with_clock(Arc::new(move || now.load(Ordering::SeqCst)))
}

#[tokio::test]
async fn one_sender_then_sent_in_flight_and_take_over_after_a_failure_or_the_lease() {
    let store = Arc::new(MemoryClaims::new());
    let now = Arc::new(AtomicU64::new(1_000));
    let (a, b) = (claims(&store, &now), claims(&store, &now));
    let key = AlertClaims::key("evt-1", "grafana@sha256:aa");
    assert_eq!(key, "alerts/evt-1/grafana_sha256_aa.json");

    let Claim::Mine(v) = a.claim(&key).await.unwrap() else {
        panic!("first claim")
    };
    assert_eq!(b.claim(&key).await.unwrap(), Claim::InFlight, "being sent");
    a.settle(&key, &v, true).await;
    assert_eq!(b.claim(&key).await.unwrap(), Claim::Sent);

    // A sender that failed: the next delivery takes over.
    let key = AlertClaims::key("evt-2", "x");
    let Claim::Mine(v) = a.claim(&key).await.unwrap() else {
        panic!()
    };
    a.settle(&key, &v, false).await;
    assert!(matches!(b.claim(&key).await.unwrap(), Claim::Mine(_)));

    // A sender that died before settling: respected for the lease, then taken over.
    let key = AlertClaims::key("evt-3", "x");
    assert!(matches!(a.claim(&key).await.unwrap(), Claim::Mine(_)));
    now.fetch_add(LEASE.as_secs() - 1, Ordering::SeqCst);
    assert_eq!(b.claim(&key).await.unwrap(), Claim::InFlight);
    now.fetch_add(1, Ordering::SeqCst);
    assert!(matches!(b.claim(&key).await.unwrap(), Claim::Mine(_)));
    assert_eq!(
        a.claim(&key).await.unwrap(),
        Claim::InFlight,
        "only one taker"
    );
}

/// A store whose writes are carried out but answered as a conflict: what S3 gives when the
/// answer to a conditional write is lost (a reset after the write, an answer later than the
/// client's timeout) and the client's retry meets the record its first attempt wrote.
struct AnswerLost(MemoryClaims);

impl ClaimStore for AnswerLost {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Versioned>, Error>> {
        self.0.get(key)
    }
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Vec<u8>,
        expect: Expect,
    ) -> BoxFuture<'a, Result<Written, Error>> {
        let _first_attempt = self.0.records.put(&key.to_string(), body, &expect);
        Box::pin(async { Ok(Written::Conflict) })
    }
}

/// Found by a fault campaign: the claim's own create, retried after its answer was lost,
/// read back as another delivery's `sending` claim, and the alert was never sent. The
/// owner token makes it this delivery's claim; another delivery's claim still is not.
#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_still_this_deliverys() {
    let store = Arc::new(AnswerLost(MemoryClaims::new()));
    let now = Arc::new(AtomicU64::new(1_000));
    let clock: Clock = {
        let now = now.clone();
        Arc::new(move || now.load(Ordering::SeqCst))
    };
    let first = AlertClaims::new(store.clone()).with_clock(clock.clone());
    let key = AlertClaims::key("evt-5", "grafana@sha256:aa");
    assert!(matches!(first.claim(&key).await.unwrap(), Claim::Mine(_)));
    let other = AlertClaims::new(store.clone()).with_clock(clock.clone());
    assert_eq!(other.claim(&key).await.unwrap(), Claim::InFlight);

    // The take-over's write answered late too: the taker's own record, the taker's claim.
    now.fetch_add(LEASE.as_secs(), Ordering::SeqCst);
    assert!(matches!(other.claim(&key).await.unwrap(), Claim::Mine(_)));
    assert_eq!(first.claim(&key).await.unwrap(), Claim::InFlight);
}

/// Records written before the owner token (no `owner`) still read, as another's claim.
#[tokio::test]
async fn records_without_an_owner_are_anothers() {
    let store = Arc::new(MemoryClaims::new());
    let now = Arc::new(AtomicU64::new(1_000));
    let key = AlertClaims::key("evt-6", "x");
    store
        .put(
            &key,
            br#"{"state":"sending","at":1000}"#.to_vec(),
            Expect::Absent,
        )
        .await
        .unwrap();
    assert_eq!(
        claims(&store, &now).claim(&key).await.unwrap(),
        Claim::InFlight
    );
}

/// The delivery that claimed the alert dies before settling (a timeout, a crash) and Lambda
/// retries the same event a minute later: the retry must send. With a lease longer than
/// Lambda's first retry wait it would find `sending`, stand aside and succeed — the alert lost.
#[tokio::test]
async fn the_retry_of_a_sender_that_died_sends() {
    let store = Arc::new(MemoryClaims::new());
    let now = Arc::new(AtomicU64::new(1_000));
    let first = claims(&store, &now);
    let key = AlertClaims::key("evt-4", "grafana@sha256:aa");
    assert!(matches!(first.claim(&key).await.unwrap(), Claim::Mine(_)));
    // The earliest retry: the sender died right after claiming, the retry a minute later.
    now.fetch_add(FIRST_RETRY.as_secs(), Ordering::SeqCst);
    let retry = claims(&store, &now);
    assert!(matches!(retry.claim(&key).await.unwrap(), Claim::Mine(_)));
}
