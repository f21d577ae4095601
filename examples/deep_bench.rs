//! The deep check's cost (section 6 of `scripts/bench`): an image whose 5 MiB app layer (gzip)
//! sits on a 200 MiB base layer (gzip of incompressible data), its entrypoint in the app layer.
//! `ecr-arch-guard inspect` (release) is run on it with and without the deep check: bytes read
//! from the layers, time (median of runs) and the process's peak RSS (wait4's `ru_maxrss`).
//! The check must not read the base layer.
//!
//! Usage: cargo run --release --example deep_bench [-- path/to/ecr-arch-guard]

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::bench::median;
use common::image_layout::{elf, layout, E, GZ};

const RUNS: usize = 9;

/// A gzip layer of `files` files of `size` random bytes each, then `last` (if any).
fn layer(prefix: &str, files: usize, size: usize, last: Option<E>) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    {
        let mut b = tar::Builder::new(&mut gz);
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..files {
            let mut data = vec![0u8; size];
            for chunk in data.chunks_mut(8) {
                // xorshift64: incompressible enough for gzip.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let bytes = state.to_le_bytes();
                chunk.copy_from_slice(&bytes[..chunk.len()]);
            }
            let mut h = tar::Header::new_gnu();
            h.set_size(size as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, format!("{prefix}/file{i}"), &data[..])
                .unwrap();
        }
        if let Some(E::File(path, data)) = last {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, path, &data[..]).unwrap();
        }
        b.finish().unwrap();
    }
    gz.finish().unwrap()
}

/// Runs the CLI; its wall time, peak RSS in KiB, and stdout. The child is reaped by `wait4`
/// (which also gives its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run(bin: &str, args: &[&str]) -> (Duration, i64, String) {
    let started = Instant::now();
    let child = std::process::Command::new(bin)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run the CLI");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child's pid, with valid pointers to locals.
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    (started.elapsed(), usage.ru_maxrss, out)
}

/// Writes the layout into `dir` (a separate process: the measuring one never holds the layers,
/// so a child's peak RSS, which counts what it inherits until it execs, is its own).
fn write(dir: &str) {
    let base = layer("usr/lib", 200, 1024 * 1024, None);
    let app = layer(
        "app/assets",
        5,
        1024 * 1024,
        Some(E::File("app/server", elf("busybox-static-amd64"))),
    );
    println!(
        "base layer {:.1} MiB, app layer {:.1} MiB (gzip); entrypoint /app/server, last in the app layer",
        base.len() as f64 / 1048576.0,
        app.len() as f64 / 1048576.0
    );
    let built = layout(
        "linux/amd64",
        serde_json::json!({"Entrypoint": ["/app/server"]}),
        &[(base, GZ), (app, GZ)],
    );
    for entry in walk(built.path()) {
        let rel = entry.strip_prefix(built.path()).unwrap();
        let to = std::path::Path::new(dir).join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::rename(&entry, &to).unwrap();
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--write") {
        return write(&args[2]);
    }
    let bin = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "target/release/ecr-arch-guard".into());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().display().to_string();
    let status = std::process::Command::new(&args[0])
        .args(["--write", &path])
        .status()
        .unwrap();
    assert!(status.success(), "writing the layout");
    println!("| run | median time | peak RSS | layers read | bytes read from layers |");
    println!("| --- | --- | --- | --- | --- |");
    for (name, no_deep) in [("inspect --no-deep", true), ("inspect (deep)", false)] {
        let mut times = Vec::new();
        let mut rss = 0;
        let mut out = String::new();
        for _ in 0..RUNS {
            let mut args = vec!["inspect", &path, "--format", "json"];
            if no_deep {
                args.push("--no-deep");
            }
            let (t, r, o) = run(&bin, &args);
            times.push(t);
            rss = rss.max(r);
            out = o;
        }
        let v: serde_json::Value = serde_json::from_str(&out).expect("JSON verdict");
        let (layers, bytes) = match v["deep"].get(0) {
            Some(d) => (
                format!("{} of {}", d["layers_read"], d["layers"]),
                format!(
                    "{:.2} MiB",
                    d["downloaded_bytes"].as_f64().unwrap() / 1048576.0
                ),
            ),
            None => ("0".into(), "0".into()),
        };
        println!(
            "| {name} | {:.1} ms | {:.1} MiB | {layers} | {bytes} |",
            median(times).as_secs_f64() * 1000.0,
            rss as f64 / 1024.0
        );
    }
    let _ = std::io::stdout().flush();
}
