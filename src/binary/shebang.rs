//! A script's `#!` line: the interpreter the kernel runs it with. As Linux reads it
//! (`fs/binfmt_script.c`): the line after `#!`, at most 256 bytes (`BINPRM_BUF_SIZE`), spaces
//! and tabs skipped, the interpreter path up to the next space or tab, the rest (trimmed) one
//! optional argument. `#!/usr/bin/env X` runs `X` found through `PATH` (env's own lookup);
//! `env -S X …` splits its argument, so `X` is still the first word after `-S`.
//!
//! Pure: the first bytes of a file in, the interpreter out; never a panic.

use serde::Serialize;

/// How many bytes of the file the kernel reads for the `#!` line.
pub const MAX_LINE: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Shebang {
    /// The interpreter path as written (`/bin/sh`, `/usr/bin/env`).
    pub interpreter: String,
    /// The optional argument, as one string.
    pub argument: Option<String>,
}

impl Shebang {
    /// The `#!` line of `head`, or `None` when the file does not start with `#!` or names no
    /// interpreter.
    pub fn parse(head: &[u8]) -> Option<Shebang> {
        let line = head.strip_prefix(b"#!")?;
        let line = &line[..line.len().min(MAX_LINE - 2)];
        let line = line.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        let line = line.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r');
        let (interpreter, rest) = match line.find([' ', '\t']) {
            Some(i) => (&line[..i], line[i..].trim_matches([' ', '\t', '\r'])),
            None => (line, ""),
        };
        if interpreter.is_empty() {
            return None;
        }
        Some(Shebang {
            interpreter: interpreter.to_string(),
            argument: Some(rest.to_string()).filter(|r| !r.is_empty()),
        })
    }

    /// The program `env` would run when the interpreter is `env` (`/usr/bin/env node` →
    /// `node`, `/usr/bin/env -S python3 -u` → `python3`); `None` for any other interpreter.
    pub fn env_program(&self) -> Option<&str> {
        if self.interpreter.rsplit('/').next() != Some("env") {
            return None;
        }
        let mut words = self
            .argument
            .as_deref()?
            .split([' ', '\t'])
            .filter(|w| !w.is_empty());
        let mut first = words.next()?;
        while first.starts_with('-') {
            // `-S` (split) and other options before the program; `-S` may be glued to it.
            if let Some(rest) = first.strip_prefix("-S").filter(|r| !r.is_empty()) {
                first = rest;
                break;
            }
            first = words.next()?;
        }
        // `env VAR=value prog`: assignments before the program.
        while first.contains('=') {
            first = words.next()?;
        }
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_as_the_kernel_reads_them() {
        let s = Shebang::parse(b"#!/bin/sh -e\necho hi\n").unwrap();
        assert_eq!(s.interpreter, "/bin/sh");
        assert_eq!(s.argument.as_deref(), Some("-e"));
        let s = Shebang::parse(b"#! \t/usr/bin/python3\r\n").unwrap();
        assert_eq!(
            (s.interpreter.as_str(), s.argument),
            ("/usr/bin/python3", None)
        );
        assert_eq!(Shebang::parse(b"#!\n"), None);
        assert_eq!(Shebang::parse(b"\x7fELF"), None);
        assert_eq!(Shebang::parse(b""), None);
    }

    #[test]
    fn env_names_the_real_program() {
        let program =
            |line: &[u8]| Shebang::parse(line).and_then(|s| s.env_program().map(str::to_string));
        assert_eq!(program(b"#!/usr/bin/env node\n").as_deref(), Some("node"));
        assert_eq!(
            program(b"#!/usr/bin/env -S python3 -u\n").as_deref(),
            Some("python3")
        );
        assert_eq!(
            program(b"#!/usr/bin/env -Spython3 -u\n").as_deref(),
            Some("python3")
        );
        assert_eq!(
            program(b"#!/usr/bin/env LANG=C bash\n").as_deref(),
            Some("bash")
        );
        assert_eq!(program(b"#!/bin/sh\n"), None);
        assert_eq!(program(b"#!/usr/bin/env\n"), None);
        assert_eq!(program(b"#!/usr/bin/env -i\n"), None);
    }
}
