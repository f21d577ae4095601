//! Marker tags: the tag the guard adds to a mismatched image (`latest-arm64-only`), and how the
//! guard recognises its own markers so that their push events never loop.
//!
//! Recognition is exact: a pushed tag is our marker for an image when the template renders it
//! for that image, i.e. `{arch}` is exactly the image's architectures and `{digest12}` its
//! digest ([`TagTemplate::is_marker_for`]). That holds for every architecture word
//! (`wasm`, `ppc64`, `sparc64`, whatever a config says), and never mistakes a user's tag such
//! as `release-2-only` for a marker of an amd64 image. [`TagTemplate::could_be_marker`] is the
//! cheap shape check that decides whether the image must be looked at for it.

use crate::image::digest::Digest;
use crate::util::error::Error;

/// The longest tag a registry accepts (OCI distribution spec).
pub const MAX_TAG_LEN: usize = 128;

/// A tag template with placeholders `{tag}` (the pushed tag, or `{digest12}` when untagged),
/// `{arch}` (the image's architectures joined by `_`), `{digest12}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagTemplate {
    text: String,
    /// Parsed once: every event with a tag is matched against it.
    pieces: Vec<Piece>,
}

impl Default for TagTemplate {
    fn default() -> Self {
        TagTemplate::parse("{tag}-{arch}-only").expect("the default template is valid")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Fixed text, already as it appears in a tag (sanitised).
    Lit(String),
    Tag,
    Arch,
    Digest12,
}

/// What `{arch}` and `{digest12}` must be when matching a tag against the template.
#[derive(Clone, Copy)]
enum Want<'a> {
    /// Any architecture word(s), any digest: the shape of a marker.
    Shape,
    /// Exactly this image's rendered `{arch}` and `{digest12}`.
    Image { arch: &'a str, digest12: &'a str },
}

impl TagTemplate {
    pub fn parse(s: &str) -> Result<TagTemplate, Error> {
        let pieces = pieces(s)?;
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
        if s.starts_with(['.', '-']) {
            return Err(Error::Usage(format!(
                "TAG_TEMPLATE {s:?}: a tag cannot start with '.' or '-'"
            )));
        }
        Ok(TagTemplate {
            text: s.to_string(),
            pieces,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The marker tag for an image: a valid OCI tag (at most [`MAX_TAG_LEN`] characters of
    /// `[A-Za-z0-9_.-]`, not starting with `.` or `-`). When it would be too long, the `{tag}`
    /// part is shortened, never the marker's own text, so the result is still recognised as a
    /// marker ([`TagTemplate::is_marker_for`]) when its push event comes back.
    pub fn render(&self, tag: Option<&str>, digest: &Digest, archs: &[String]) -> String {
        let arch = arch_text(archs);
        let pieces = &self.pieces;
        let tag = sanitize_fragment(tag.unwrap_or(digest.short()));
        let fixed: usize = pieces
            .iter()
            .map(|p| match p {
                Piece::Lit(l) => l.len(),
                Piece::Tag => 0,
                Piece::Arch => arch.len(),
                Piece::Digest12 => digest.short().len(),
            })
            .sum();
        let tags = pieces.iter().filter(|p| matches!(p, Piece::Tag)).count();
        let room = MAX_TAG_LEN
            .saturating_sub(fixed)
            .checked_div(tags)
            .unwrap_or(0);
        // Never shorter than one character: an empty {tag} would not match the template.
        let tag = &tag[..tag.len().min(room.max(1))];
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Lit(s) => out.push_str(s),
                Piece::Tag => out.push_str(tag),
                Piece::Arch => out.push_str(&arch),
                Piece::Digest12 => out.push_str(digest.short()),
            }
        }
        sanitize(&out)
    }

    /// Whether `tag` is the marker this template renders for the image with `digest` and
    /// architectures `archs`: then its push is the guard's own doing and is not judged again.
    pub fn is_marker_for(&self, tag: &str, digest: &Digest, archs: &[String]) -> bool {
        let arch = arch_text(archs);
        let want = Want::Image {
            arch: &arch,
            digest12: digest.short(),
        };
        matches_pieces(&self.pieces, tag, want)
    }

    /// Whether `tag` has the shape of a marker for some image (any architecture words, any
    /// digest): only then can it be one, and the image is looked at to know
    /// ([`TagTemplate::is_marker_for`]).
    pub fn could_be_marker(&self, tag: &str) -> bool {
        matches_pieces(&self.pieces, tag, Want::Shape)
    }
}

/// A template's pieces: fixed text (sanitised as it will appear in a tag) and placeholders.
fn pieces(template: &str) -> Result<Vec<Piece>, Error> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        if start > 0 {
            out.push(Piece::Lit(sanitize_fragment(&rest[..start])));
        }
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| Error::Usage(format!("TAG_TEMPLATE {template:?}: unclosed {{")))?;
        out.push(match &rest[start + 1..start + end] {
            "tag" => Piece::Tag,
            "arch" => Piece::Arch,
            "digest12" => Piece::Digest12,
            other => {
                return Err(Error::Usage(format!(
                    "TAG_TEMPLATE {template:?}: unknown placeholder {{{other}}}; use {{tag}}, {{arch}}, {{digest12}}"
                )))
            }
        });
        rest = &rest[start + end + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Lit(sanitize_fragment(rest)));
    }
    Ok(out)
}

/// `{arch}` for an image: its architectures joined by `_` (`none` for an image without any).
fn arch_text(archs: &[String]) -> String {
    if archs.is_empty() {
        "none".to_string()
    } else {
        sanitize_fragment(&archs.join("_"))
    }
}

fn matches_pieces(pieces: &[Piece], s: &str, want: Want<'_>) -> bool {
    match pieces.split_first() {
        None => s.is_empty(),
        Some((Piece::Lit(l), rest)) => s
            .strip_prefix(l.as_str())
            .is_some_and(|r| matches_pieces(rest, r, want)),
        Some((Piece::Tag, rest)) => (1..=s.len())
            .filter(|&i| s.is_char_boundary(i))
            .any(|i| matches_pieces(rest, &s[i..], want)),
        Some((Piece::Digest12, rest)) => match want {
            Want::Image { digest12, .. } => s
                .strip_prefix(digest12)
                .is_some_and(|r| matches_pieces(rest, r, want)),
            Want::Shape => {
                s.len() >= 12
                    && s.as_bytes()[..12].iter().all(u8::is_ascii_hexdigit)
                    && matches_pieces(rest, &s[12..], want)
            }
        },
        Some((Piece::Arch, rest)) => match want {
            Want::Image { arch, .. } => s
                .strip_prefix(arch)
                .is_some_and(|r| matches_pieces(rest, r, want)),
            // Any non-empty run of the characters an architecture can be written with.
            Want::Shape => (1..=s.len())
                .take_while(|&i| {
                    s.as_bytes()[i - 1].is_ascii_alphanumeric()
                        || matches!(s.as_bytes()[i - 1], b'_' | b'.' | b'-')
                })
                .any(|i| matches_pieces(rest, &s[i..], want)),
        },
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
/// truncated to [`MAX_TAG_LEN`] characters.
pub fn sanitize(s: &str) -> String {
    let mut out = sanitize_fragment(s);
    if out.is_empty() {
        out.push('_');
    }
    if out.starts_with(['.', '-']) {
        out.replace_range(0..1, "_");
    }
    out.truncate(MAX_TAG_LEN);
    out
}

/// Whether `tag` is a valid OCI tag.
pub fn is_valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_TAG_LEN
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
            t.render(Some("latest"), &d(), &["arm64".into()]),
            "latest-arm64-only"
        );
        let untagged = t.render(None, &d(), &["arm64".into()]);
        assert_eq!(untagged, format!("{}-arm64-only", d().short()));
        assert_eq!(
            t.render(Some("v1"), &d(), &["amd64".into(), "arm".into()]),
            "v1-amd64_arm-only"
        );
    }

    #[test]
    fn rendered_tags_are_always_valid() {
        let t = TagTemplate::default();
        let long = "x".repeat(200);
        for tag in [long.as_str(), "a+b", "1.0"] {
            let m = t.render(Some(tag), &d(), &["arm64".into()]);
            assert!(is_valid_tag(&m), "{m}");
        }
        assert_eq!(sanitize(".hidden"), "_hidden");
        assert!(!is_valid_tag("-x") && !is_valid_tag("") && !is_valid_tag("a/b"));
    }

    fn archs(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn recognises_its_own_markers_only() {
        let t = TagTemplate::default();
        for (marker, image) in [
            ("latest-arm64-only", archs(&["arm64"])),
            ("v1.2-amd64-only", archs(&["amd64"])),
            ("latest-amd64_arm-only", archs(&["amd64", "arm"])),
            ("a-b-arm-only", archs(&["arm"])),
        ] {
            assert!(t.could_be_marker(marker), "{marker}");
            assert!(t.is_marker_for(marker, &d(), &image), "{marker}");
        }
        for user in ["latest", "arm64", "latest-arm64", "only"] {
            assert!(!t.could_be_marker(user), "{user}");
        }
        // The shape of a marker, but not this image's: a user's tag, judged like any other.
        for (user, image) in [
            ("release-2-only", archs(&["amd64"])),
            ("my-app-only", archs(&["amd64"])),
            ("latest-arm64-only", archs(&["amd64"])),
            ("latest-arm-only", archs(&["arm64"])),
        ] {
            assert!(t.could_be_marker(user), "{user}");
            assert!(!t.is_marker_for(user, &d(), &image), "{user}");
        }
    }

    /// Found on the real binary: an architecture outside a fixed list (`wasm`, `ppc64`) made
    /// `latest-wasm-only` a stranger, judged and tagged `latest-wasm-only-wasm-only`, and so on
    /// until 128 characters. Every architecture word is recognised now.
    #[test]
    fn any_architecture_word_is_recognised_so_markers_never_chain() {
        for template in [
            "{tag}-{arch}-only",
            "guard-{digest12}-{arch}",
            "{arch}.only.{tag}",
        ] {
            let t = TagTemplate::parse(template).unwrap();
            for a in [
                archs(&["wasm"]),
                archs(&["ppc64"]),
                archs(&["sparc64"]),
                archs(&["loong64", "riscv64"]),
                archs(&["x86-64.v9"]),
            ] {
                let marker = t.render(Some("latest"), &d(), &a);
                assert!(t.could_be_marker(&marker), "{template}: {marker}");
                assert!(t.is_marker_for(&marker, &d(), &a), "{template}: {marker}");
                assert!(!t.is_marker_for("latest", &d(), &a));
                // Another image's digest: not this image's marker.
                if template.contains("digest12") {
                    assert!(!t.is_marker_for(&marker, &Digest::of(b"y"), &a));
                }
            }
        }
        let custom = TagTemplate::parse("guard-{digest12}-{arch}").unwrap();
        assert!(custom.is_marker_for(
            &format!("guard-{}-arm64", d().short()),
            &d(),
            &archs(&["arm64"])
        ));
        assert!(!custom.could_be_marker("guard-latest-arm64"));
    }

    /// A marker too long for a tag keeps its own text and loses the end of `{tag}`, so it is
    /// still recognised when its push comes back (a cut suffix would be judged again).
    #[test]
    fn long_tags_are_shortened_in_the_tag_part_and_stay_recognisable() {
        let t = TagTemplate::default();
        let long = "v".repeat(200);
        let a = archs(&["wasm"]);
        let marker = t.render(Some(&long), &d(), &a);
        assert_eq!(marker.len(), MAX_TAG_LEN);
        assert!(marker.ends_with("-wasm-only"), "{marker}");
        assert!(is_valid_tag(&marker));
        assert!(t.is_marker_for(&marker, &d(), &a));
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(TagTemplate::parse("{tag}").is_err());
        assert!(TagTemplate::parse("{tag}-{arch").is_err());
        assert!(TagTemplate::parse("{tag}-{os}-only").is_err());
        assert!(TagTemplate::parse("{tag}-only").is_err());
        assert!(TagTemplate::parse("-{arch}-{tag}").is_err());
    }
}
