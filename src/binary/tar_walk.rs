//! A layer's tar, walked entry by entry from a stream: names, kinds, link targets, sizes, and
//! at most the first bytes of the entries asked for; everything else is skipped as it streams
//! by, so memory stays bounded whatever the layer holds and the walk can stop anywhere.
//!
//! The format (POSIX `ustar`, pax, GNU): 512-byte header blocks (name 0..100, size 124..136 in
//! octal or base-256, checksum 148..156, type flag 156, link name 157..257, magic 257 `ustar`,
//! prefix 345..500), data padded to 512 bytes, an all-zero block at the end; pax extended
//! headers (`x`: `path`, `linkpath`, `size` for the next entry; `g` global, ignored) and GNU
//! long names (`L`, `K`). Names are made relative to the image root: `./` and a leading `/`
//! dropped, `.` components removed, `..` applied — a name that climbs above the root
//! (path traversal) is reported as escaping, never resolved outside.
//!
//! Pure: a `Read` in, entries out; a corrupt header is an error, never a panic.
//!
//! Not the `tar` crate, which `layout` uses for a `docker save` archive on the user's own disk:
//! it reads a GNU long name or a pax extended header whole, however large its header says it
//! is (`EntryFields::read_all`, tar 0.4.46), so a hostile layer could make the Lambda's memory
//! follow the deep check's expanded-bytes budget (512 MiB). Here those records stop at 1 MiB
//! and names at `PATH_MAX`.

use std::io::{self, Read};

/// Block size of the format.
const BLOCK: usize = 512;
/// The longest name or link target accepted (Linux's `PATH_MAX`).
const MAX_NAME: usize = 4096;
/// The largest pax or GNU long-name record read.
const MAX_EXTENDED: u64 = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// A hard link: `link` names an earlier entry of the same archive.
    Hardlink,
    /// Devices, FIFOs, …
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the image root, `/`-separated, no `.` or `..` (`""` is the root).
    pub path: String,
    /// The name climbed above the root (`../x`): not part of the image's filesystem.
    pub escapes: bool,
    pub kind: Kind,
    /// Symlink target as written, or a hard link's target made relative like `path`.
    pub link: Option<String>,
    pub size: u64,
}

/// Walks a tar stream.
pub struct TarWalk<R: Read> {
    reader: R,
    /// Data bytes of the current entry not read yet, plus its padding.
    pending: u64,
    done: bool,
}

impl<R: Read> TarWalk<R> {
    pub fn new(reader: R) -> TarWalk<R> {
        TarWalk {
            reader,
            pending: 0,
            done: false,
        }
    }

    /// The next entry, skipping what is left of the current one; `None` at the end.
    pub fn next_entry(&mut self) -> io::Result<Option<Entry>> {
        self.skip_pending()?;
        let mut long_name: Option<String> = None;
        let mut long_link: Option<String> = None;
        let mut pax_size: Option<u64> = None;
        loop {
            if self.done {
                return Ok(None);
            }
            let mut header = [0u8; BLOCK];
            if !read_block(&mut self.reader, &mut header)? || header.iter().all(|b| *b == 0) {
                self.done = true;
                return Ok(None);
            }
            check_sum(&header)?;
            let size = parse_size(&header[124..136])?;
            let flag = header[156];
            match flag {
                b'L' | b'K' | b'x' => {
                    if size > MAX_EXTENDED {
                        return Err(bad(format!("an extended header of {size} bytes")));
                    }
                    let data = self.read_exact_padded(size)?;
                    match flag {
                        b'L' => long_name = Some(text(&data)),
                        b'K' => long_link = Some(text(&data)),
                        _ => {
                            for (key, value) in pax_records(&data) {
                                match key.as_str() {
                                    "path" => long_name = Some(value),
                                    "linkpath" => long_link = Some(value),
                                    "size" => pax_size = value.parse().ok(),
                                    _ => {}
                                }
                            }
                        }
                    }
                    continue;
                }
                b'g' => {
                    self.pending = padded(size);
                    self.skip_pending()?;
                    continue;
                }
                _ => {}
            }
            let size = pax_size.unwrap_or(size);
            let name = long_name.take().unwrap_or_else(|| ustar_name(&header));
            let link_raw = long_link.take().unwrap_or_else(|| text(&header[157..257]));
            if name.len() > MAX_NAME || link_raw.len() > MAX_NAME {
                return Err(bad("a name longer than 4096 bytes".into()));
            }
            let kind = match flag {
                b'0' | 0 | b'7' => Kind::File,
                b'5' => Kind::Dir,
                b'2' => Kind::Symlink,
                b'1' => Kind::Hardlink,
                _ => Kind::Other,
            };
            // Only regular files carry data (a GNU archive may give others a size: skip it too).
            self.pending = padded(if matches!(kind, Kind::File | Kind::Other) {
                size
            } else {
                0
            });
            let (path, escapes) = normalize(&name);
            let link = match kind {
                Kind::Symlink => Some(link_raw),
                Kind::Hardlink => Some(normalize(&link_raw).0),
                _ => None,
            };
            return Ok(Some(Entry {
                path,
                escapes,
                kind,
                link,
                size,
            }));
        }
    }

    /// Up to `max` bytes of the current entry's data (a regular file's first bytes).
    pub fn read_head(&mut self, entry: &Entry, max: usize) -> io::Result<Vec<u8>> {
        let want = entry.size.min(max as u64).min(self.pending);
        let mut out = vec![0u8; want as usize];
        self.reader.read_exact(&mut out)?;
        self.pending -= want;
        Ok(out)
    }

    /// The stream, for reading what follows the archive's end (padding, a compressor's trailer).
    pub fn into_inner(self) -> R {
        self.reader
    }

    fn skip_pending(&mut self) -> io::Result<()> {
        let n = io::copy(&mut (&mut self.reader).take(self.pending), &mut io::sink())?;
        if n < self.pending {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the layer ends inside an entry (truncated)",
            ));
        }
        self.pending = 0;
        Ok(())
    }

    fn read_exact_padded(&mut self, size: u64) -> io::Result<Vec<u8>> {
        let mut data = vec![0u8; size as usize];
        self.reader.read_exact(&mut data)?;
        self.pending = padded(size) - size;
        self.skip_pending()?;
        Ok(data)
    }
}

fn bad(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("corrupt tar: {why}"))
}

/// A whole block, `false` at a clean end of stream; a partial block is truncation.
fn read_block<R: Read>(r: &mut R, block: &mut [u8; BLOCK]) -> io::Result<bool> {
    let mut got = 0;
    while got < BLOCK {
        match r.read(&mut block[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the layer ends inside a tar header (truncated)",
                ))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK as u64) * BLOCK as u64
}

/// The header checksum: the sum of its bytes with the checksum field read as spaces.
fn check_sum(h: &[u8; BLOCK]) -> io::Result<()> {
    let stored = parse_octal(&h[148..156]).ok_or_else(|| bad("no header checksum".into()))?;
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    if sum != stored {
        return Err(bad(format!("header checksum {stored} is not {sum}")));
    }
    Ok(())
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let s: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|b| *b == b' ' || *b == 0)
        .take_while(|b| (b'0'..=b'7').contains(b))
        .collect();
    if s.is_empty() {
        return Some(0).filter(|_| field.iter().all(|b| *b == 0 || *b == b' '));
    }
    u64::from_str_radix(std::str::from_utf8(&s).ok()?, 8).ok()
}

/// Octal, or GNU's base-256 (high bit of the first byte set).
fn parse_size(field: &[u8]) -> io::Result<u64> {
    if field[0] & 0x80 != 0 {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            v = v
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(*b)))
                .ok_or_else(|| bad("a size beyond 64 bits".into()))?;
        }
        return Ok(v);
    }
    parse_octal(field).ok_or_else(|| bad("an unreadable size".into()))
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// `prefix/name` of a ustar header, `name` alone otherwise.
fn ustar_name(h: &[u8; BLOCK]) -> String {
    let name = text(&h[..100]);
    if &h[257..262] == b"ustar" && h[262] == 0 {
        let prefix = text(&h[345..500]);
        if !prefix.is_empty() {
            return format!("{prefix}/{name}");
        }
    }
    name
}

/// pax records: `LEN key=value\n`, LEN counting the whole record.
fn pax_records(data: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(space) = rest.iter().position(|b| *b == b' ') else {
            break;
        };
        let Some(len) = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|l| *l > space && *l <= rest.len())
        else {
            break;
        };
        let record = &rest[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|b| *b == b'=') {
            out.push((text(&record[..eq]), text(&record[eq + 1..])));
        }
        rest = &rest[len..];
    }
    out
}

/// The name relative to the image root, and whether it climbed above it.
pub fn normalize(name: &str) -> (String, bool) {
    let mut parts: Vec<&str> = Vec::new();
    let mut escapes = false;
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    escapes = true;
                }
            }
            p => parts.push(p),
        }
    }
    (parts.join("/"), escapes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar written by the `tar` crate (the format's reference here), with a long name, a
    /// symlink, a hard link and a directory.
    fn sample() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut file = |path: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, path, data).unwrap();
        };
        file("./app/server", b"\x7fELF....");
        file(&format!("deep/{}/x", "d".repeat(200)), b"long");
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "usr/bin/sh", "dash").unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Link);
        h.set_size(0);
        b.append_link(&mut h, "app/copy", "./app/server").unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        b.append_data(&mut h, "etc/", &[][..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn entries_stream_with_names_links_and_heads() {
        let bytes = sample();
        let mut w = TarWalk::new(&bytes[..]);
        let e = w.next_entry().unwrap().unwrap();
        assert_eq!(
            (e.path.as_str(), e.kind, e.size),
            ("app/server", Kind::File, 8)
        );
        assert_eq!(w.read_head(&e, 4).unwrap(), b"\x7fELF");
        let e = w.next_entry().unwrap().unwrap();
        assert_eq!(e.path, format!("deep/{}/x", "d".repeat(200)));
        let e = w.next_entry().unwrap().unwrap();
        assert_eq!((e.kind, e.link.as_deref()), (Kind::Symlink, Some("dash")));
        let e = w.next_entry().unwrap().unwrap();
        assert_eq!(
            (e.kind, e.link.as_deref()),
            (Kind::Hardlink, Some("app/server"))
        );
        let e = w.next_entry().unwrap().unwrap();
        assert_eq!((e.path.as_str(), e.kind), ("etc", Kind::Dir));
        assert_eq!(w.next_entry().unwrap(), None);
    }

    #[test]
    fn traversal_is_flagged_and_truncation_and_corruption_are_errors() {
        assert_eq!(normalize("../../etc/passwd"), ("etc/passwd".into(), true));
        assert_eq!(normalize("./a/./b/../c"), ("a/c".into(), false));
        assert_eq!(normalize("/abs/path"), ("abs/path".into(), false));
        let bytes = sample();
        let mut cut = TarWalk::new(&bytes[..700]);
        let first = cut.next_entry().unwrap();
        assert!(first.is_some());
        assert!(cut.next_entry().is_err(), "ends inside the second header");
        let mut corrupt = bytes.clone();
        corrupt[10] ^= 0xff;
        assert!(TarWalk::new(&corrupt[..]).next_entry().is_err());
        for len in (0..bytes.len()).step_by(97) {
            let mut w = TarWalk::new(&bytes[..len]);
            while let Ok(Some(_)) = w.next_entry() {}
        }
    }
}
