//! Every sample event in `events/` (what `sam local invoke -e`, `cargo lambda invoke
//! --data-file` and `ecr-arch-guard event` are given) parses as the Lambda's input and is
//! classified as its name says. Shapes follow AWS's documented samples (tests/fixtures/SOURCES.md).

use ecr_arch_guard::event::{classify, Classified, EcrEvent, Origin};

fn load(name: &str) -> EcrEvent {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_sample_event_parses_and_is_classified_as_named() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/events")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".json") || name == "env.json" {
            continue;
        }
        let c = classify(&load(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        match (name.as_str(), c) {
            (
                "push-arm64-only-tagged.json"
                | "push-multi-platform-index.json"
                | "push-untagged-child.json"
                | "push-marker-tag.json",
                Classified::Inspect(p),
            ) => assert_eq!(p.origin, Origin::Push, "{name}"),
            ("replicated-arm64-only.json", Classified::Inspect(p)) => {
                assert!(matches!(p.origin, Origin::Replication { .. }))
            }
            (
                "delete.json" | "push-failure.json" | "pull-through-cache.json",
                Classified::Skip(_),
            ) => {}
            (other, c) => panic!("{other}: unexpected {c:?} (add it to this table)"),
        }
        seen.push(name);
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
}
