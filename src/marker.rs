//! Marker tags: the tag the guard adds to a mismatched image (`latest-arm64-only`), and how the
//! guard recognises its own markers so that their push events never loop.

use crate::digest::Digest;
use crate::error::Error;

/// Known architecture names, for recognising `{arch}` in a pushed tag.
const ARCHES: [&str; 12] = [
    "amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "mips64le", "mips64", "mipsle",
    "mips", "loong64",
];

/// A tag template with placeholders `{tag}` (the pushed tag, or `{digest12}` when untagged),
/// `{arch}` (the image's architectures joined by `_`), `{digest12}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagTemplate(String);

impl Default for TagTemplate {
    fn default() -> Self {
        TagTemplate("{tag}-{arch}-only".into())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Tag,
    Arch,
    Digest12,
}

impl TagTemplate {
    pub fn parse(s: &str) -> Result<TagTemplate, Error> {
        let t = TagTemplate(s.to_string());
        let pieces = t.pieces()?;
        if !pieces.iter().any(|p| matches!(p, Piece::Lit(_))) {
            return Err(Error::Usage(format!(
                "TAG_TEMPLATE {s:?}: needs some fixed text (e.g. {{tag}}-{{arch}}-only) so marker tags can be told apart"
            )));
        }
        if !pieces.iter().any(|p| matches!(p, Piece::Arch)) {
            return Err(Error::Usage(format!(
                "TAG_TEMPLATE {s:?}: must contain {{arch}}"
            )));
        }
        Ok(t)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn pieces(&self) -> Result<Vec<Piece>, Error> {
        let mut out = Vec::new();
        let mut rest = self.0.as_str();
        while let Some(start) = rest.find('{') {
            if start > 0 {
                out.push(Piece::Lit(rest[..start].to_string()));
            }
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| Error::Usage(format!("TAG_TEMPLATE {:?}: unclosed {{", self.0)))?;
            out.push(match &rest[start + 1..start + end] {
                "tag" => Piece::Tag,
                "arch" => Piece::Arch,
                "digest12" => Piece::Digest12,
                other => {
                    return Err(Error::Usage(format!(
                        "TAG_TEMPLATE {:?}: unknown placeholder {{{other}}}; use {{tag}}, {{arch}}, {{digest12}}",
                        self.0
                    )))
                }
            });
            rest = &rest[start + end + 1..];
        }
        if !rest.is_empty() {
            out.push(Piece::Lit(rest.to_string()));
        }
        Ok(out)
    }

    /// The marker tag for an image, sanitised to a valid OCI tag (≤128 characters of
    /// `[A-Za-z0-9_.-]`, not starting with `.` or `-`).
    pub fn render(
        &self,
        tag: Option<&str>,
        digest: &Digest,
        archs: &[String],
    ) -> Result<String, Error> {
        let arch = if archs.is_empty() {
            "none".to_string()
        } else {
            archs.join("_")
        };
        let mut out = String::new();
        for piece in self.pieces()? {
            match piece {
                Piece::Lit(s) => out.push_str(&s),
                Piece::Tag => out.push_str(tag.unwrap_or(digest.short())),
                Piece::Arch => out.push_str(&arch),
                Piece::Digest12 => out.push_str(digest.short()),
            }
        }
        Ok(sanitize(&out))
    }

    /// Whether `tag` has the shape of one of our markers (so its push is our own doing).
    pub fn is_marker(&self, tag: &str) -> bool {
        let Ok(pieces) = self.pieces() else {
            return false;
        };
        matches_pieces(&pieces, tag)
    }
}

fn matches_pieces(pieces: &[Piece], s: &str) -> bool {
    match pieces.split_first() {
        None => s.is_empty(),
        Some((Piece::Lit(l), rest)) => {
            let l = sanitize_fragment(l);
            s.strip_prefix(l.as_str())
                .is_some_and(|r| matches_pieces(rest, r))
        }
        Some((Piece::Tag, rest)) => (1..=s.len())
            .filter(|&i| s.is_char_boundary(i))
            .any(|i| matches_pieces(rest, &s[i..])),
        Some((Piece::Digest12, rest)) => {
            s.len() >= 12
                && s.as_bytes()[..12].iter().all(u8::is_ascii_hexdigit)
                && matches_pieces(rest, &s[12..])
        }
        Some((Piece::Arch, rest)) => {
            // One or more known architectures joined by `_`.
            let mut i = 0;
            loop {
                let Some(a) = ARCHES
                    .iter()
                    .filter(|a| s[i..].starts_with(**a))
                    .max_by_key(|a| a.len())
                else {
                    return false;
                };
                i += a.len();
                if matches_pieces(rest, &s[i..]) {
                    return true;
                }
                if !s[i..].starts_with('_') {
                    // Try a shorter prefix match (e.g. `arm` within `arm64`) before giving up.
                    return ARCHES
                        .iter()
                        .filter(|b| b.len() < a.len() && s[i - a.len()..].starts_with(**b))
                        .any(|b| matches_pieces(rest, &s[i - a.len() + b.len()..]));
                }
                i += 1;
            }
        }
    }
}

fn sanitize_fragment(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Makes `s` a valid tag: invalid characters become `-`, a leading `.`/`-` becomes `_`,
/// truncated to 128 characters.
pub fn sanitize(s: &str) -> String {
    let mut out = sanitize_fragment(s);
    if out.is_empty() {
        out.push('_');
    }
    if out.starts_with(['.', '-']) {
        out.replace_range(0..1, "_");
    }
    out.truncate(128);
    out
}

/// Whether `tag` is a valid OCI tag.
pub fn is_valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> Digest {
        Digest::of(b"x")
    }

    #[test]
    fn default_marker_for_tagged_and_untagged_pushes() {
        let t = TagTemplate::default();
        assert_eq!(
            t.render(Some("latest"), &d(), &["arm64".into()]).unwrap(),
            "latest-arm64-only"
        );
        let untagged = t.render(None, &d(), &["arm64".into()]).unwrap();
        assert_eq!(untagged, format!("{}-arm64-only", d().short()));
        assert_eq!(
            t.render(Some("v1"), &d(), &["amd64".into(), "arm".into()])
                .unwrap(),
            "v1-amd64_arm-only"
        );
    }

    #[test]
    fn rendered_tags_are_always_valid() {
        let t = TagTemplate::default();
        let long = "x".repeat(200);
        for tag in [long.as_str(), "a+b", "1.0"] {
            let m = t.render(Some(tag), &d(), &["arm64".into()]).unwrap();
            assert!(is_valid_tag(&m), "{m}");
        }
        assert_eq!(sanitize(".hidden"), "_hidden");
        assert!(!is_valid_tag("-x") && !is_valid_tag("") && !is_valid_tag("a/b"));
    }

    #[test]
    fn recognises_its_own_markers_only() {
        let t = TagTemplate::default();
        for marker in [
            "latest-arm64-only",
            "v1.2-amd64-only",
            "latest-amd64_arm-only",
            "a-b-arm-only",
        ] {
            assert!(t.is_marker(marker), "{marker}");
        }
        for user in [
            "latest",
            "release-2-only",
            "arm64",
            "latest-arm64",
            "my-app-only",
        ] {
            assert!(!t.is_marker(user), "{user}");
        }
        let custom = TagTemplate::parse("guard-{digest12}-{arch}").unwrap();
        assert!(custom.is_marker("guard-0123456789ab-arm64"));
        assert!(!custom.is_marker("guard-latest-arm64"));
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(TagTemplate::parse("{tag}").is_err());
        assert!(TagTemplate::parse("{tag}-{arch").is_err());
        assert!(TagTemplate::parse("{tag}-{os}-only").is_err());
        assert!(TagTemplate::parse("{tag}-only").is_err());
    }
}
