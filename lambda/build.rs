//! The Lambda's `bootstrap` (and the hello-world floor it is measured against) is linked as a
//! position-dependent executable (`-no-pie`): its ~28,000 relative relocations are resolved at
//! link time instead of by the dynamic loader at every cold start. Measured side by side
//! (scripts/bench, the start-up table, 20 runs each): spawn to the first
//! `GET /runtime/invocation/next` 1.8–1.9 ms as a PIE, 1.4 ms linked this way; a bare
//! `lambda_runtime` hello-world 1.3 ms (PIE) / 1.2 ms (this way); the binary 0.7 MB smaller (no
//! relocation table). The cost: the executable's own code and data are not placed at a random
//! address (its libraries, heap and stack still are), a hardening measure against memory-
//! corruption exploits, which safe Rust built with `panic = "abort"` is not exposed to in the
//! same way; set ECR_ARCH_GUARD_PIE=1 at build time to keep the PIE. Only these two binaries:
//! the library, the CLI and the tests link as usual.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=ECR_ARCH_GUARD_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let pie = std::env::var("ECR_ARCH_GUARD_PIE").is_ok_and(|v| v == "1");
    if linux && !pie {
        println!("cargo:rustc-link-arg-bin=bootstrap=-no-pie");
        println!("cargo:rustc-link-arg-examples=-no-pie");
    }
}
