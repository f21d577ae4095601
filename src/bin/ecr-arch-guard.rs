//! The `ecr-arch-guard` command line: see `ecr-arch-guard --help`.

fn main() -> std::process::ExitCode {
    ecr_arch_guard::cli::main()
}
