//! What a container of the image executes, from its config: the program a runtime starts
//! (`Entrypoint` then `Cmd`, or `Cmd` alone — the OCI image spec's `config` and Docker's rules),
//! where it is looked for (`PATH` from `Env`, else the default search path; relative to
//! `WorkingDir` when the name has a `/` but no leading one), and what else certainly runs:
//! the program a shell form starts (`/bin/sh -c "exec /app/server"` runs `/bin/sh`, then
//! `/app/server`), and, in an AWS Lambda base image, the function's `bootstrap`.
//!
//! Pure: the config in, the programs out.

use crate::image::image_config::RunConfig;

/// The search path a runtime uses when the image sets no `PATH` (Docker's and containerd's
/// default for Linux containers).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One program to look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// As the config names it (`/app/server`, `node`, `./run`).
    pub name: String,
    /// Where it comes from: `ENTRYPOINT`, `CMD`, `the shell command`, `the Lambda runtime`.
    pub source: &'static str,
    /// May be absent without anything failing (a Lambda function's `bootstrap` lives in one of
    /// two places).
    pub optional: bool,
}

/// The programs a container of this config executes, in the order it does.
pub fn programs(run: &RunConfig) -> Vec<Program> {
    let (argv, source): (Vec<&String>, &'static str) = if !run.entrypoint.is_empty() {
        (
            run.entrypoint.iter().chain(&run.cmd).collect(),
            "ENTRYPOINT",
        )
    } else {
        (run.cmd.iter().collect(), "CMD")
    };
    let mut out = Vec::new();
    let Some(first) = argv.first() else {
        return out;
    };
    out.push(Program {
        name: first.to_string(),
        source,
        optional: false,
    });
    // The shell form: `sh -c "COMMAND"` runs the shell, which runs COMMAND's program.
    let shells = ["sh", "bash", "ash", "dash", "zsh"];
    if shells.contains(&basename(first)) && argv.get(1).map(|a| a.as_str()) == Some("-c") {
        if let Some(program) = argv.get(2).and_then(|c| command_program(c)) {
            out.push(Program {
                name: program,
                source: "the shell command",
                optional: false,
            });
        }
    }
    // AWS Lambda base images run the function's `bootstrap` from the runtime directory or the
    // task root (Lambda Developer Guide, "Defined runtime environment variables" and custom
    // runtimes): whichever exists.
    for var in ["LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT"] {
        if let Some(dir) = run.var(var).filter(|d| d.starts_with('/')) {
            out.push(Program {
                name: format!("{}/bootstrap", dir.trim_end_matches('/')),
                source: "the Lambda runtime",
                optional: true,
            });
        }
    }
    out
}

/// Where to look for `name`: itself when absolute; `WorkingDir`/name when it has a `/`; each
/// `PATH` directory otherwise (an empty entry is the working directory, as for `execvp`).
pub fn candidates(name: &str, run: &RunConfig) -> Vec<String> {
    let workdir = if run.working_dir.starts_with('/') {
        run.working_dir.as_str()
    } else {
        "/"
    };
    if name.starts_with('/') {
        return vec![name.to_string()];
    }
    if name.contains('/') {
        return vec![format!("{}/{name}", workdir.trim_end_matches('/'))];
    }
    run.var("PATH")
        .unwrap_or(DEFAULT_PATH)
        .split(':')
        .map(|dir| {
            let dir = if dir.is_empty() { workdir } else { dir };
            format!("{}/{name}", dir.trim_end_matches('/'))
        })
        .collect()
}

/// The program a simple shell command starts: its first word, past `exec` and `NAME=value`
/// assignments; `None` when the command is not that simple (expansions, subshells, operators).
fn command_program(command: &str) -> Option<String> {
    let mut words = command.split_whitespace();
    let mut word = words.next()?;
    while word == "exec" || (word.contains('=') && !word.starts_with('=')) {
        word = words.next()?;
    }
    let special = |c: char| "$`()<>|;&{}[]*?!'\"\\~#".contains(c);
    if word.chars().any(special) {
        return None;
    }
    Some(word.to_string())
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(entrypoint: &[&str], cmd: &[&str], env: &[&str]) -> RunConfig {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
        RunConfig {
            entrypoint: s(entrypoint),
            cmd: s(cmd),
            env: s(env),
            working_dir: "/app".into(),
        }
    }

    fn names(r: &RunConfig) -> Vec<(String, &'static str)> {
        programs(r)
            .into_iter()
            .map(|p| (p.name, p.source))
            .collect()
    }

    #[test]
    fn the_program_comes_from_entrypoint_then_cmd_and_the_shell_form_adds_its_command() {
        assert_eq!(
            names(&run(&["/app/server"], &["--port", "80"], &[])),
            [("/app/server".to_string(), "ENTRYPOINT")]
        );
        assert_eq!(
            names(&run(&[], &["node", "index.js"], &[])),
            [("node".to_string(), "CMD")]
        );
        assert_eq!(
            names(&run(
                &[],
                &["/bin/sh", "-c", "exec /app/server --port 80"],
                &[]
            )),
            [
                ("/bin/sh".to_string(), "CMD"),
                ("/app/server".to_string(), "the shell command")
            ]
        );
        assert_eq!(
            names(&run(&[], &["/bin/sh", "-c", "FOO=1 $HOME/run"], &[])).len(),
            1,
            "an expansion is not followed"
        );
        assert!(programs(&run(&[], &[], &[])).is_empty());
    }

    #[test]
    fn names_are_looked_for_as_a_runtime_looks_for_them() {
        let r = run(&[], &[], &["PATH=/usr/local/bin:/usr/bin"]);
        assert_eq!(
            candidates("node", &r),
            ["/usr/local/bin/node", "/usr/bin/node"]
        );
        assert_eq!(candidates("./run", &r), ["/app/./run"]);
        assert_eq!(candidates("/bin/sh", &r), ["/bin/sh"]);
        let bare = run(&[], &[], &[]);
        assert_eq!(candidates("sh", &bare).len(), 6, "the default PATH");
    }

    #[test]
    fn lambda_base_images_add_the_functions_bootstrap() {
        let r = run(
            &["/lambda-entrypoint.sh"],
            &["handler"],
            &[
                "LAMBDA_TASK_ROOT=/var/task",
                "LAMBDA_RUNTIME_DIR=/var/runtime",
            ],
        );
        let p = programs(&r);
        assert_eq!(p[0].name, "/lambda-entrypoint.sh");
        assert_eq!(
            p[1..].iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["/var/runtime/bootstrap", "/var/task/bootstrap"]
        );
        assert!(p[1].optional && !p[0].optional);
    }
}
