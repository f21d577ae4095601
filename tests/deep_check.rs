//! The deep check on real bytes: the ELF headers of Debian's binaries (`tests/fixtures/elf`,
//! sources in `tests/fixtures/SOURCES.md`) placed in image layers written here as OCI layouts
//! (gzip, zstd and plain tar layers; a legacy `docker save` tar), judged through `inspect`'s
//! path: label and binary agreeing and disagreeing both ways, a shell-form CMD, an `env`
//! shebang, a symlinked entrypoint across layers, whiteouts and opaque directories, a Lambda
//! base image, and broken input (truncated, corrupt, traversal, loops, a bomb, an endless
//! layer, a layer that does not match its digest), each a "not checked: reason", never a panic.

mod common;

use common::image_layout::{elf, gzip, layout, tar_of, E, GZ};
use std::io::Read;
use std::path::Path;

use ecr_arch_guard::binary::deep::target::Target;
use ecr_arch_guard::binary::deep::{self, DeepCheck};
use ecr_arch_guard::binary::layer_stream::Limits;
use ecr_arch_guard::binary::layout::Layout;
use ecr_arch_guard::binary::rootfs::{LayerRef, LayerSource};
use ecr_arch_guard::image::digest::Digest;
use ecr_arch_guard::image::image_config::ImageConfig;
use ecr_arch_guard::image::platform::Platform;
use ecr_arch_guard::Error;
use serde_json::json;

/// Deep-checks the one image of the layout at `path` against `required`, as `inspect` does.
async fn check_layout(path: &Path, required: &str) -> Vec<DeepCheck> {
    let layout = Layout::open(path).unwrap();
    let candidate = layout.select(None).unwrap().clone();
    let ecr_arch_guard::binary::layout::Target::Manifest { digest, media_type } = &candidate.target
    else {
        panic!("an OCI layout")
    };
    let limits = ecr_arch_guard::image::resolve::Limits::default();
    let resolution =
        ecr_arch_guard::image::resolve::resolve(&layout, digest, media_type.as_deref(), &limits)
            .await
            .unwrap();
    let required = if required.is_empty() {
        Vec::new()
    } else {
        ecr_arch_guard::image::platform::parse_list(required).unwrap()
    };
    let targets = deep::target::targets(&layout, &resolution, &required, &limits)
        .await
        .unwrap();
    deep::check_all(&targets, &layout, Limits::default())
}

fn platform(c: &DeepCheck) -> String {
    c.runs_on
        .as_ref()
        .map(Platform::to_string)
        .unwrap_or_default()
}

#[tokio::test]
async fn each_listed_machine_is_told_from_its_header() {
    for (fixture, bits, little, machine, platform, linking) in [
        (
            "busybox-static-amd64",
            64,
            true,
            62,
            "linux/amd64",
            "static",
        ),
        (
            "busybox-static-arm64",
            64,
            true,
            183,
            "linux/arm64",
            "static",
        ),
        // An ARM ELF names no architecture version: `arm` normalises to arm/v7 (containerd's
        // default), and the comparison with a label is by architecture.
        (
            "busybox-static-armhf",
            32,
            true,
            40,
            "linux/arm/v7",
            "static",
        ),
        ("busybox-static-i386", 32, true, 3, "linux/386", "static"),
        (
            "busybox-static-ppc64el",
            64,
            true,
            21,
            "linux/ppc64le",
            "static",
        ),
        (
            "busybox-static-s390x",
            64,
            false,
            22,
            "linux/s390x",
            "static",
        ),
        (
            "dash-amd64",
            64,
            true,
            62,
            "linux/amd64",
            "/lib64/ld-linux-x86-64.so.2",
        ),
        (
            "dash-arm64",
            64,
            true,
            183,
            "linux/arm64",
            "/lib/ld-linux-aarch64.so.1",
        ),
        (
            "ld-linux-riscv64-lp64d",
            64,
            true,
            243,
            "linux/riscv64",
            "static",
        ),
    ] {
        let e = ecr_arch_guard::binary::elf::Elf::parse(&elf(fixture)).unwrap();
        assert_eq!(
            (e.bits, e.little_endian, e.machine),
            (bits, little, machine),
            "{fixture}"
        );
        assert_eq!(e.platform().unwrap().to_string(), platform, "{fixture}");
        let got = match &e.linking {
            ecr_arch_guard::binary::elf::Linking::Static => "static".to_string(),
            ecr_arch_guard::binary::elf::Linking::Dynamic(i) => i.clone(),
            ecr_arch_guard::binary::elf::Linking::Unknown => "unknown".to_string(),
        };
        assert_eq!(got, linking, "{fixture}");
    }
}

/// The accident no label check can see: a `--platform linux/arm64` build that COPYs an amd64
/// binary keeps the arm64 label. Mislabelled both ways; agreeing label and binary are not.
#[tokio::test]
async fn label_and_binary_agreeing_and_disagreeing_both_ways() {
    for (label, binary, mislabelled, runs_on) in [
        ("linux/arm64", "busybox-static-amd64", true, "linux/amd64"),
        ("linux/amd64", "busybox-static-arm64", true, "linux/arm64"),
        ("linux/amd64", "busybox-static-amd64", false, "linux/amd64"),
        ("linux/arm64", "dash-arm64", false, "linux/arm64"),
    ] {
        let l = layout(
            label,
            json!({"Entrypoint": ["/app/server"], "WorkingDir": "/app"}),
            &[(
                gzip(&tar_of(&[
                    E::Dir("app/"),
                    E::File("app/server", elf(binary)),
                ])),
                GZ,
            )],
        );
        let checks = check_layout(l.path(), "").await;
        assert_eq!(checks.len(), 1);
        let c = &checks[0];
        assert_eq!(c.mislabelled, mislabelled, "{label} {binary}: {c:?}");
        assert_eq!(platform(c), runs_on);
        assert_eq!(c.executables[0].path, "/app/server");
        assert_eq!(
            c.layers_verified, 0,
            "read in part: its digest cannot be checked"
        );
        if mislabelled {
            assert!(c
                .summary()
                .starts_with(&format!("config says {label}; /app/server is an ELF")));
        }
    }
}

/// A shell-form CMD runs /bin/sh, then the command's program: both are found (the shell
/// through a symlink into the base layer), and disagreeing binaries run nowhere.
#[tokio::test]
async fn a_shell_form_cmd_checks_the_shell_and_its_command() {
    let base = gzip(&tar_of(&[
        E::Dir("bin/"),
        E::File("bin/busybox", elf("busybox-static-arm64")),
        E::Link("bin/sh", "busybox"),
    ]));
    let app = gzip(&tar_of(&[E::File(
        "app/server",
        elf("busybox-static-amd64"),
    )]));
    let l = layout(
        "linux/arm64",
        json!({"Cmd": ["/bin/sh", "-c", "exec /app/server --port 80"]}),
        &[(base, GZ), (app, GZ)],
    );
    let c = &check_layout(l.path(), "").await[0];
    let paths: Vec<(&str, &str)> = c
        .executables
        .iter()
        .map(|e| (e.path.as_str(), e.source.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("/bin/busybox", "CMD"),
            ("/app/server", "the shell command")
        ]
    );
    assert_eq!(c.executables[0].via, ["/bin/sh -> busybox"]);
    assert!(c.mislabelled);
    assert_eq!(
        c.runs_on, None,
        "an arm64 shell and an amd64 server: nothing runs both"
    );
    assert!(c
        .notes
        .iter()
        .any(|n| n.contains("different architectures")));
}

/// `#!/usr/bin/env node`: the script's interpreter is found through PATH, in another layer.
#[tokio::test]
async fn an_env_shebang_is_followed_through_path() {
    let base = gzip(&tar_of(&[E::File("usr/local/bin/node", elf("dash-amd64"))]));
    let app = gzip(&tar_of(&[E::File(
        "app/run.js",
        b"#!/usr/bin/env node\nconsole.log(1)\n".to_vec(),
    )]));
    let l = layout(
        "linux/amd64",
        json!({"Entrypoint": ["/app/run.js"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/bin"]}),
        &[(base, GZ), (app, GZ)],
    );
    let c = &check_layout(l.path(), "").await[0];
    assert!(!c.mislabelled);
    let e = &c.executables[0];
    assert_eq!(e.path, "/usr/local/bin/node");
    assert_eq!(e.via, ["/app/run.js: #!/usr/bin/env node"]);
    assert_eq!(e.linking, "/lib64/ld-linux-x86-64.so.2");
}

/// An absolute symlink in the top layer into a lower one resolves inside the image; a whiteout
/// removes a lower binary so PATH finds the next one; an opaque directory hides a lower one's
/// contents.
#[tokio::test]
async fn symlinks_across_layers_whiteouts_and_opaque_directories() {
    let lower = gzip(&tar_of(&[
        E::File("opt/bin/server", elf("busybox-static-amd64")),
        E::File("usr/local/bin/tool", elf("busybox-static-arm64")),
        E::File("usr/bin/tool", elf("busybox-static-amd64")),
        E::File("srv/old", elf("busybox-static-amd64")),
    ]));
    let upper = gzip(&tar_of(&[
        E::Link("app/server", "/opt/bin/server"),
        E::File("usr/local/bin/.wh.tool", Vec::new()),
        E::File("srv/.wh..wh..opq", Vec::new()),
    ]));
    let l = layout(
        "linux/amd64",
        json!({"Entrypoint": ["/app/server"]}),
        &[(lower.clone(), GZ), (upper.clone(), GZ)],
    );
    let c = &check_layout(l.path(), "").await[0];
    assert_eq!(c.executables[0].path, "/opt/bin/server");
    assert_eq!(c.executables[0].via, ["/app/server -> /opt/bin/server"]);

    let l = layout(
        "linux/amd64",
        json!({"Cmd": ["tool"]}),
        &[(lower.clone(), GZ), (upper.clone(), GZ)],
    );
    let c = &check_layout(l.path(), "").await[0];
    assert_eq!(
        c.executables[0].path, "/usr/bin/tool",
        "the arm64 one is whited out"
    );
    assert!(!c.mislabelled);

    let l = layout(
        "linux/amd64",
        json!({"Cmd": ["/srv/old"]}),
        &[(lower, GZ), (upper, GZ)],
    );
    let c = &check_layout(l.path(), "").await[0];
    assert!(c.executables.is_empty());
    assert!(
        c.notes[0].contains("/srv/old (CMD) is not in the image"),
        "{:?}",
        c.notes
    );
}

/// The entrypoint in a small top layer is found without opening the base layer under it.
#[tokio::test]
async fn the_base_layer_is_not_read_when_the_top_layer_holds_the_entrypoint() {
    let filler: Vec<E> = (0..200)
        .map(|i| {
            E::File(
                Box::leak(format!("usr/lib/big{i}").into_boxed_str()),
                vec![i as u8; 20_000],
            )
        })
        .collect();
    let base = gzip(&tar_of(&filler));
    let app_tar = tar_of(&[
        E::Dir("app/"),
        E::File("app/server", elf("busybox-static-arm64")),
    ]);
    let app = gzip(&app_tar);
    let l = layout(
        "linux/arm64",
        json!({"Entrypoint": ["/app/server"]}),
        &[(base, GZ), (app.clone(), GZ)],
    );
    let c = &check_layout(l.path(), "").await[0];
    assert_eq!(c.layers_read, 1, "only the top layer");
    assert!(
        c.downloaded_bytes <= app.len() as u64,
        "{} of {}",
        c.downloaded_bytes,
        app.len()
    );
}

/// zstd and uncompressed layers; a Lambda base image (its entrypoint script's shell and the
/// function's bootstrap in /var/runtime).
#[tokio::test]
async fn zstd_plain_and_lambda_base_images() {
    let zst = ruzstd::encoding::compress_to_vec(
        &tar_of(&[
            E::File("bin/sh", elf("busybox-static-amd64")),
            E::File(
                "lambda-entrypoint.sh",
                b"#!/bin/sh\nexec /var/runtime/bootstrap\n".to_vec(),
            ),
        ])[..],
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let plain = tar_of(&[E::File(
        "var/runtime/bootstrap",
        elf("busybox-static-arm64"),
    )]);
    let l = layout(
        "linux/amd64",
        json!({"Entrypoint": ["/lambda-entrypoint.sh"], "Cmd": ["handler"],
               "Env": ["LAMBDA_TASK_ROOT=/var/task", "LAMBDA_RUNTIME_DIR=/var/runtime"]}),
        &[
            (zst, "application/vnd.oci.image.layer.v1.tar+zstd"),
            (plain, "application/vnd.oci.image.layer.v1.tar"),
        ],
    );
    let c = &check_layout(l.path(), "").await[0];
    let got: Vec<(&str, String)> = c
        .executables
        .iter()
        .map(|e| (e.path.as_str(), e.platform.as_ref().unwrap().to_string()))
        .collect();
    assert_eq!(
        got,
        [
            ("/bin/sh", "linux/amd64".to_string()),
            ("/var/runtime/bootstrap", "linux/arm64".to_string())
        ]
    );
    assert!(c.mislabelled, "an arm64 bootstrap in an amd64 Lambda image");
}

/// A layer source whose layers are whatever bytes a test gives (any digest).
struct Raw(Vec<(LayerRef, Opener)>);

impl LayerSource for Raw {
    fn open(&self, layer: &LayerRef) -> Result<Box<dyn Read + Send>, Error> {
        let (_, open) = self.0.iter().find(|(l, _)| l == layer).unwrap();
        Ok(open())
    }
}

/// Layers from `(bytes, digest)`: the digest of the bytes when `None` (a layer that is what
/// its manifest says), or a given one.
type Opener = Box<dyn Fn() -> Box<dyn Read + Send> + Sync>;

fn raw(layers: Vec<(Opener, Option<Digest>)>) -> (Raw, Vec<LayerRef>) {
    let mut source = Vec::new();
    let mut refs = Vec::new();
    for (open, digest) in layers {
        let digest = digest.unwrap_or_else(|| {
            let mut bytes = Vec::new();
            open().read_to_end(&mut bytes).unwrap();
            Digest::of(&bytes)
        });
        let r = LayerRef {
            digest,
            media_type: GZ.into(),
            path: None,
        };
        refs.push(r.clone());
        source.push((r, open));
    }
    (Raw(source), refs)
}

fn bytes(b: Vec<u8>) -> (Opener, Option<Digest>) {
    (
        Box::new(move || Box::new(std::io::Cursor::new(b.clone()))),
        None,
    )
}

fn fake(b: Vec<u8>) -> (Opener, Option<Digest>) {
    (
        Box::new(move || Box::new(std::io::Cursor::new(b.clone()))),
        Some(Digest::of(b"not these bytes")),
    )
}

fn run(entrypoint: &str) -> ecr_arch_guard::image::image_config::RunConfig {
    ImageConfig::parse(
        json!({"config": {"Entrypoint": [entrypoint]}})
            .to_string()
            .as_bytes(),
    )
    .unwrap()
    .config
}

fn deep_check(source: &Raw, layers: &[LayerRef], entrypoint: &str, limits: Limits) -> DeepCheck {
    let target = Target {
        manifest: Digest::of(b"m"),
        label: Platform::from_parts("linux", "amd64", None).unwrap(),
        run: run(entrypoint),
        layers: layers.to_vec(),
    };
    deep::check(&target, source, limits)
}

/// Broken input is a "not checked: reason" (or a note), within the budget, never a panic.
#[test]
fn broken_layers_are_not_checked_with_the_reason() {
    let good = gzip(&tar_of(&[E::File(
        "app/server",
        elf("busybox-static-amd64"),
    )]));
    // Truncated mid-stream.
    let cut = good[..good.len() / 2].to_vec();
    let (src, refs) = raw(vec![fake(cut)]);
    let c = deep_check(&src, &refs, "/app/server", Limits::default());
    assert!(
        c.not_checked.as_deref().unwrap().contains("unreadable"),
        "{c:?}"
    );
    // A corrupt tar header.
    let mut bad = tar_of(&[E::File("app/server", elf("busybox-static-amd64"))]);
    bad[3] ^= 0x55;
    let (src, refs) = raw(vec![fake(bad)]);
    let c = deep_check(&src, &refs, "/app/server", Limits::default());
    assert!(
        c.not_checked.as_deref().unwrap().contains("corrupt tar"),
        "{c:?}"
    );
    // Read to its end (the program is not in it), a layer is checked against its digest: one
    // that is what its manifest says is verified, one that is not is refused.
    let (src, refs) = raw(vec![bytes(good.clone())]);
    let c = deep_check(&src, &refs, "/nope", Limits::default());
    assert_eq!(
        (c.layers_verified, c.not_checked.as_deref()),
        (1, None),
        "{c:?}"
    );
    let (src, refs) = raw(vec![fake(good)]);
    let c = deep_check(&src, &refs, "/nope", Limits::default());
    assert!(
        c.not_checked
            .as_deref()
            .unwrap()
            .contains("does not match its digest"),
        "{c:?}"
    );
}

#[test]
fn traversal_absolute_links_and_loops_stay_inside_the_image() {
    // `../../app/server` climbs above the root: not part of the image.
    let mut b = tar::Builder::new(Vec::new());
    let data = elf("busybox-static-amd64");
    let mut h = tar::Header::new_old();
    h.set_size(data.len() as u64);
    h.set_mode(0o755);
    h.set_entry_type(tar::EntryType::Regular);
    let name = b"../../app/server";
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_cksum();
    b.append(&h, &data[..]).unwrap();
    let escaping = b.into_inner().unwrap();
    let loops = tar_of(&[
        E::Link("app/a", "b"),
        E::Link("app/b", "a"),
        E::Link("app/up", "/../../../../app/real"),
        E::File("app/real", elf("busybox-static-amd64")),
    ]);
    let (src, refs) = raw(vec![bytes(escaping), bytes(loops)]);
    let c = deep_check(&src, &refs, "/app/a", Limits::default());
    assert!(c.notes.iter().any(|n| n.contains("a loop")), "{c:?}");
    let c = deep_check(&src, &refs, "/app/up", Limits::default());
    assert_eq!(
        c.executables[0].path, "/app/real",
        "`..` at the root stays at the root"
    );
    let c = deep_check(&src, &refs, "/app/server", Limits::default());
    assert!(
        c.executables.is_empty(),
        "the escaping entry is not /app/server"
    );
    assert!(
        c.notes.iter().any(|n| n.contains("above the image's root")),
        "{c:?}"
    );
}

#[test]
fn a_bomb_and_an_endless_layer_stop_at_the_budget() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut b = tar::Builder::new(&mut gz);
    let mut h = tar::Header::new_gnu();
    h.set_size(64 << 20);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    b.append_data(&mut h, "zeros", std::io::repeat(0).take(64 << 20))
        .unwrap();
    b.finish().unwrap();
    drop(b);
    let bomb = gz.finish().unwrap();
    assert!(
        bomb.len() < 200 * 1024,
        "a small layer: {} bytes",
        bomb.len()
    );
    let limits = Limits {
        expanded: 16 << 20,
        ..Limits::default()
    };
    let (src, refs) = raw(vec![fake(bomb)]);
    let c = deep_check(&src, &refs, "/app/server", limits);
    assert!(
        c.not_checked.as_deref().unwrap().starts_with("budget"),
        "{c:?}"
    );
    // A "10 GB" layer: an endless stream of tar blocks of one huge file.
    let endless: Opener = Box::new(|| {
        let mut h = tar::Header::new_gnu();
        h.set_size(10 << 30);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_path("huge").unwrap();
        h.set_cksum();
        Box::new(std::io::Cursor::new(h.as_bytes().to_vec()).chain(std::io::repeat(0)))
    });
    let (src, refs) = raw(vec![(endless, Some(Digest::of(b"10 GB")))]);
    let limits = Limits {
        download: 8 << 20,
        ..Limits::default()
    };
    let c = deep_check(&src, &refs, "/app/server", limits);
    assert_eq!(
        c.not_checked.as_deref(),
        Some("budget: more than 8 MiB to download")
    );
    assert!(c.downloaded_bytes <= (8 << 20) + (64 << 10));
}

/// A legacy `docker save` tar: `manifest.json` with `Layers` of uncompressed `layer.tar`s,
/// identified by the config's `diff_ids`.
#[test]
fn a_legacy_docker_save_tar_is_checked_from_its_layer_tars() {
    let layer = tar_of(&[E::File("app/server", elf("busybox-static-amd64"))]);
    let diff_id = Digest::of(&layer);
    let config = serde_json::to_vec(&json!({"architecture": "arm64", "os": "linux",
        "config": {"Entrypoint": ["/app/server"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]}}))
    .unwrap();
    let config_name = format!("{}.json", Digest::of(&config).hex());
    let manifest = serde_json::to_vec(&json!([{"Config": config_name, "RepoTags": ["app:latest"],
        "Layers": ["0123/layer.tar"]}]))
    .unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("manifest.json", &manifest),
        (config_name.as_str(), &config),
        ("0123/layer.tar", &layer),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("save.tar");
    std::fs::write(&path, b.into_inner().unwrap()).unwrap();
    let layout = Layout::open(&path).unwrap();
    let ecr_arch_guard::binary::layout::Target::LegacyConfig { path: cfg, layers } =
        &layout.select(None).unwrap().target
    else {
        panic!("legacy")
    };
    let t = layout
        .legacy_target(
            cfg,
            layers,
            &ecr_arch_guard::image::resolve::Limits::default(),
        )
        .unwrap()
        .unwrap();
    let c = deep::check(&t, &layout, Limits::default());
    assert!(c.mislabelled);
    assert_eq!(platform(&c), "linux/amd64");
}

/// A zstd layer of several frames, as RFC 8878 allows and pzstd (Debian's zstd 1.5.4) writes
/// them: `tests/fixtures/layers/app-server-in-second-frame-pzstd.tar.zst` (see SOURCES.md),
/// two zstd frames each behind a skippable frame, `/app/server` (an x86-64 ELF) in the second.
/// Read to the first frame's end only, the binary was "not in the image" and the amd64 binary
/// labelled arm64 passed as fitting; every frame is read now. Cut short, the layer is "not
/// checked" with the reason, never taken as ending there.
#[tokio::test]
async fn a_binary_in_a_later_zstd_frame_is_found_and_a_cut_stream_is_not_checked() {
    let layer = common::fixture("layers/app-server-in-second-frame-pzstd.tar.zst");
    let l = layout(
        "linux/arm64",
        json!({"Entrypoint": ["/app/server"]}),
        &[(layer.clone(), "application/vnd.oci.image.layer.v1.tar+zstd")],
    );
    let c = &check_layout(l.path(), "").await[0];
    assert_eq!(c.not_checked, None, "{c:?}");
    assert_eq!(platform(c), "linux/amd64", "{c:?}");
    assert!(c.mislabelled, "an x86-64 binary labelled arm64: {c:?}");
    assert_eq!(
        c.downloaded_bytes,
        layer.len() as u64,
        "read into its last frame: {c:?}"
    );

    // The same stream cut inside its second frame.
    let cut = layer[..layer.len() - 1000].to_vec();
    let (src, refs) = raw(vec![fake(cut)]);
    let c = deep_check(&src, &refs, "/app/server", Limits::default());
    assert!(
        c.not_checked
            .as_deref()
            .is_some_and(|r| r.contains("unreadable")),
        "{c:?}"
    );
}

/// A layer that leaves its directories implied (`app/server`, no `app/` entry, as many image
/// builders write them) is read once: the scan that finds the directory keeps the head of the
/// entry that implies it, the very file looked for (it was read a second time for it).
#[test]
fn a_layer_with_implied_directories_is_read_once() {
    let layer = gzip(&tar_of(&[
        E::File("usr/share/doc/readme", b"text".to_vec()),
        E::File("app/server", elf("busybox-static-amd64")),
    ]));
    let (src, refs) = raw(vec![bytes(layer)]);
    let c = deep_check(&src, &refs, "/app/server", Limits::default());
    assert_eq!(c.not_checked, None, "{c:?}");
    assert_eq!(platform(&c), "linux/amd64");
    assert_eq!(c.layers_read, 1, "opened once: {c:?}");
}
