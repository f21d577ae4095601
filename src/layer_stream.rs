//! A layer as the deep check reads it: the stored bytes (as downloaded or read from disk),
//! decompressed by what they are — gzip (`1f 8b`), zstd (`28 b5 2f fd`) or a plain tar — and
//! metered: bytes downloaded and bytes expanded are counted against the image's budget, and a
//! deadline is kept, so a 10 GB layer, a tar bomb or a stalled download stops the check with the
//! reason instead of exhausting memory or time. Nothing is written to disk.
//!
//! Media types (OCI image spec, `layer.md`; Docker's `rootfs.diff.tar.gzip`) are not trusted
//! for the format: the magic bytes decide, as containerd does.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one image's deep check may spend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Stored (compressed) bytes read from the registry or the disk, all layers together.
    pub download: u64,
    /// Decompressed bytes walked through, all layers together (a tar bomb stops here).
    pub expanded: u64,
    /// Wall time from the first layer opened.
    pub time: Duration,
    /// The largest zstd window accepted (the decoder holds a window in memory).
    pub zstd_window: u64,
}

impl Default for Limits {
    /// 64 MiB downloaded, 512 MiB expanded, 20 s, 8 MiB zstd window (zstd's default levels
    /// use at most 8 MiB: RFC 8878 recommends decoders support that much).
    fn default() -> Self {
        Limits {
            download: 64 * 1024 * 1024,
            expanded: 512 * 1024 * 1024,
            time: Duration::from_secs(20),
            zstd_window: 8 * 1024 * 1024,
        }
    }
}

/// Why the check stopped reading: the error inside an `io::Error` a metered reader returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    Downloaded(u64),
    Expanded(u64),
    Time(Duration),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Downloaded(l) => write!(f, "budget: more than {} MiB to download", l >> 20),
            Stop::Expanded(l) => write!(
                f,
                "budget: the layers expand past {} MiB (a tar bomb, or a very large image)",
                l >> 20
            ),
            Stop::Time(t) => write!(f, "budget: not done within {} s", t.as_secs()),
        }
    }
}

impl std::error::Error for Stop {}

/// The stop reason an `io::Error` carries, if it is one.
pub fn stop_of(e: &io::Error) -> Option<&Stop> {
    e.get_ref().and_then(|i| i.downcast_ref::<Stop>())
}

/// The counters of one image's check, shared by the readers it opens.
#[derive(Clone, Debug)]
pub struct Meter {
    limits: Limits,
    downloaded: Arc<AtomicU64>,
    expanded: Arc<AtomicU64>,
    started: Instant,
}

impl Meter {
    pub fn new(limits: Limits) -> Meter {
        Meter {
            limits,
            downloaded: Arc::default(),
            expanded: Arc::default(),
            started: Instant::now(),
        }
    }

    pub fn downloaded(&self) -> u64 {
        self.downloaded.load(Ordering::Relaxed)
    }

    pub fn expanded(&self) -> u64 {
        self.expanded.load(Ordering::Relaxed)
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn charge(&self, downloaded: bool, n: usize) -> io::Result<()> {
        if self.started.elapsed() > self.limits.time {
            return Err(io::Error::other(Stop::Time(self.limits.time)));
        }
        let (counter, limit, stop): (&AtomicU64, u64, fn(u64) -> Stop) = if downloaded {
            (&self.downloaded, self.limits.download, Stop::Downloaded)
        } else {
            (&self.expanded, self.limits.expanded, Stop::Expanded)
        };
        let total = counter.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > limit {
            return Err(io::Error::other(stop(limit)));
        }
        Ok(())
    }
}

struct Metered<R> {
    inner: R,
    meter: Meter,
    downloaded: bool,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.meter.charge(self.downloaded, n)?;
        Ok(n)
    }
}

/// The layer's tar stream from its stored bytes: metered, decompressed by its magic bytes.
pub fn open(stored: Box<dyn Read + Send>, meter: &Meter) -> io::Result<Box<dyn Read + Send>> {
    let mut buf = BufReader::with_capacity(
        64 * 1024,
        Metered {
            inner: stored,
            meter: meter.clone(),
            downloaded: true,
        },
    );
    let head = buf.fill_buf()?.to_vec();
    let plain: Box<dyn Read + Send> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(buf))
    } else if is_zstd_start(&head) {
        Box::new(ZstdFrames::new(buf, meter.limits.zstd_window))
    } else {
        Box::new(buf)
    };
    Ok(Box::new(Metered {
        inner: plain,
        meter: meter.clone(),
        downloaded: false,
    }))
}

const ZSTD_MAGIC: u32 = 0xFD2F_B528;

/// Skippable frames: magic 0x184D2A50 to 0x184D2A5F (RFC 8878, 3.1.2).
fn is_skippable(magic: u32) -> bool {
    magic & 0xFFFF_FFF0 == 0x184D_2A50
}

/// A zstd stream starts with a zstd frame or a skippable frame (pzstd and `zstd:chunked`
/// layers open with one).
fn is_zstd_start(head: &[u8]) -> bool {
    head.get(..4)
        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]))
        .is_some_and(|m| m == ZSTD_MAGIC || is_skippable(m))
}

fn invalid(text: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, text)
}

/// A zstd stream as RFC 8878 defines it: one or more frames, each a zstd frame or a skippable
/// frame, one after the other to the end of the stored bytes. Every zstd frame is decoded
/// (its window checked against the limit before the decoder allocates), every skippable frame
/// skipped; the stream ends only where the stored bytes end. Bytes that are neither kind of
/// frame, and a frame cut short, are errors of the layer — never its end (a binary in a later
/// frame would otherwise be "not in the image").
struct ZstdFrames<R: BufRead> {
    state: Frames<R>,
    window_limit: u64,
}

enum Frames<R: BufRead> {
    /// Between frames: the stored bytes.
    Between(Peek<R>),
    /// Inside a zstd frame.
    Frame(Box<ruzstd::decoding::StreamingDecoder<Peek<R>, ruzstd::decoding::FrameDecoder>>),
    /// After an error, or poisoned while switching.
    Gone,
}

impl<R: BufRead> ZstdFrames<R> {
    fn new(source: R, window_limit: u64) -> Self {
        ZstdFrames {
            state: Frames::Between(Peek::new(source)),
            window_limit,
        }
    }

    /// At a frame boundary: skips skippable frames and opens the next zstd frame; `false` at
    /// the end of the stored bytes.
    fn next_frame(&mut self) -> io::Result<bool> {
        loop {
            let Frames::Between(mut source) = std::mem::replace(&mut self.state, Frames::Gone)
            else {
                return Err(invalid("zstd stream in a bad state".into()));
            };
            let head = source.peek(18)?;
            if head.is_empty() {
                self.state = Frames::Between(source);
                return Ok(false);
            }
            if head.len() < 4 {
                return Err(invalid(format!(
                    "{} stray bytes after the last zstd frame",
                    head.len()
                )));
            }
            let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
            if is_skippable(magic) {
                if head.len() < 8 {
                    return Err(invalid("a zstd skippable frame cut short".into()));
                }
                let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
                source.skip(8 + u64::from(size))?;
                self.state = Frames::Between(source);
                continue;
            }
            if magic != ZSTD_MAGIC {
                return Err(invalid(format!(
                    "bytes after a zstd frame that are not a frame (magic {magic:#010x}): a \
                     corrupt or padded layer"
                )));
            }
            if let Some(window) = zstd_window(head) {
                if window > self.window_limit {
                    return Err(invalid(format!(
                        "a zstd layer with a {} MiB window (more than {} MiB of memory)",
                        window >> 20,
                        self.window_limit >> 20
                    )));
                }
            }
            let decoder = ruzstd::decoding::StreamingDecoder::new(source)
                .map_err(|e| invalid(format!("zstd frame header: {e}")))?;
            self.state = Frames::Frame(Box::new(decoder));
            return Ok(true);
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match &mut self.state {
                Frames::Frame(decoder) => {
                    let n = decoder.read(buf)?;
                    if n > 0 {
                        return Ok(n);
                    }
                    // The frame is done (its last block and checksum read): back between frames.
                    if let Frames::Frame(decoder) = std::mem::replace(&mut self.state, Frames::Gone)
                    {
                        self.state = Frames::Between(decoder.into_inner());
                    }
                }
                Frames::Between(_) => {
                    if !self.next_frame()? {
                        return Ok(0);
                    }
                }
                Frames::Gone => return Err(invalid("zstd stream unreadable".into())),
            }
        }
    }
}

/// A reader that can look `n` bytes ahead without consuming them (the next frame's header),
/// across the underlying reader's buffer boundaries.
struct Peek<R: BufRead> {
    inner: R,
    ahead: Vec<u8>,
}

impl<R: BufRead> Peek<R> {
    fn new(inner: R) -> Self {
        Peek {
            inner,
            ahead: Vec::new(),
        }
    }

    /// Up to `n` bytes ahead (fewer only at the end of the stream).
    fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.ahead.len() < n {
            let got = self.inner.fill_buf()?;
            if got.is_empty() {
                break;
            }
            let take = got.len().min(n - self.ahead.len());
            self.ahead.extend_from_slice(&got[..take]);
            self.inner.consume(take);
        }
        Ok(&self.ahead[..self.ahead.len().min(n)])
    }

    /// Consumes `n` bytes; an error when the stream ends first.
    fn skip(&mut self, n: u64) -> io::Result<()> {
        let mut left = n;
        let buffered = (self.ahead.len() as u64).min(left) as usize;
        self.ahead.drain(..buffered);
        left -= buffered as u64;
        let copied = io::copy(&mut (&mut self.inner).take(left), &mut io::sink())?;
        if copied < left {
            return Err(invalid("a zstd skippable frame cut short".into()));
        }
        Ok(())
    }
}

impl<R: BufRead> Read for Peek<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.ahead.is_empty() {
            let n = buf.len().min(self.ahead.len());
            buf[..n].copy_from_slice(&self.ahead[..n]);
            self.ahead.drain(..n);
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

/// A zstd frame's window size from its header (RFC 8878, 3.1.1.1): the descriptor byte after
/// the magic; with `Single_Segment_flag` the frame content size is the window.
fn zstd_window(head: &[u8]) -> Option<u64> {
    let descriptor = *head.get(4)?;
    let single = descriptor & 0x20 != 0;
    if !single {
        let w = *head.get(5)?;
        let log = 10 + u64::from(w >> 3);
        let base = 1u64.checked_shl(log as u32)?;
        return Some(base + (base / 8) * u64::from(w & 7));
    }
    // Frame_Content_Size: 1, 2, 4 or 8 bytes by the descriptor's top two bits.
    let size_bytes = match descriptor >> 6 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let dict_bytes = match descriptor & 3 {
        0 => 0,
        1 => 1,
        2 => 2,
        _ => 4,
    };
    let at = 5 + dict_bytes;
    let raw = head.get(at..at + size_bytes)?;
    let mut v = 0u64;
    for (i, b) in raw.iter().enumerate() {
        v |= u64::from(*b) << (8 * i);
    }
    Some(if size_bytes == 2 { v + 256 } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(r: &mut dyn Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn gzip_and_plain_layers_are_read_and_metered() {
        let plain = vec![7u8; 10_000];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&plain).unwrap();
        let gz = gz.finish().unwrap();
        let meter = Meter::new(Limits::default());
        let mut r = open(Box::new(io::Cursor::new(gz.clone())), &meter).unwrap();
        assert_eq!(read_all(&mut r).unwrap(), plain);
        assert_eq!(meter.downloaded(), gz.len() as u64);
        assert_eq!(meter.expanded(), plain.len() as u64);
        let meter = Meter::new(Limits::default());
        let mut r = open(Box::new(io::Cursor::new(plain.clone())), &meter).unwrap();
        assert_eq!(read_all(&mut r).unwrap(), plain);
    }

    #[test]
    fn a_bomb_or_an_oversized_layer_stops_with_the_reason() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 4 * 1024 * 1024]).unwrap();
        let bomb = gz.finish().unwrap();
        let limits = Limits {
            expanded: 1024 * 1024,
            ..Limits::default()
        };
        let meter = Meter::new(limits);
        let mut r = open(Box::new(io::Cursor::new(bomb)), &meter).unwrap();
        let e = read_all(&mut r).unwrap_err();
        assert_eq!(stop_of(&e), Some(&Stop::Expanded(1024 * 1024)));
        let limits = Limits {
            download: 100_000,
            ..Limits::default()
        };
        let meter = Meter::new(limits);
        let mut r = open(Box::new(io::repeat(1).take(1 << 30)), &meter).unwrap();
        let e = read_all(&mut r).unwrap_err();
        assert_eq!(stop_of(&e), Some(&Stop::Downloaded(100_000)));
        assert!(e.to_string().contains("budget"));
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    /// RFC 8878: "a Zstandard compressed stream is a sequence of one or more frames", zstd or
    /// skippable; all of them are read (it was the first frame only).
    #[test]
    fn every_zstd_frame_is_read_and_skippable_frames_skipped() {
        let (a, b) = (vec![1u8; 70_000], b"the second frame".to_vec());
        let mut stream = zstd(&a);
        // A skippable frame (magic 0x184D2A5A, 5 bytes of user data) between the two.
        stream.extend_from_slice(&0x184D_2A5Au32.to_le_bytes());
        stream.extend_from_slice(&5u32.to_le_bytes());
        stream.extend_from_slice(b"hello");
        stream.extend_from_slice(&zstd(&b));
        let meter = Meter::new(Limits::default());
        let mut r = open(Box::new(io::Cursor::new(stream.clone())), &meter).unwrap();
        let mut want = a.clone();
        want.extend_from_slice(&b);
        assert_eq!(read_all(&mut r).unwrap(), want);
        assert_eq!(meter.downloaded(), stream.len() as u64);

        // A stream that starts with a skippable frame (as pzstd writes them).
        let mut lead = 0x184D_2A50u32.to_le_bytes().to_vec();
        lead.extend_from_slice(&0u32.to_le_bytes());
        lead.extend_from_slice(&zstd(&b));
        let mut r = open(Box::new(io::Cursor::new(lead)), &meter).unwrap();
        assert_eq!(read_all(&mut r).unwrap(), b);
    }

    /// The decoded stream ending before the stored bytes do is an error, not the layer's end:
    /// stray bytes after a frame, a second frame cut short, a skippable frame cut short.
    #[test]
    fn a_stream_that_ends_early_or_carries_stray_bytes_is_an_error() {
        let first = zstd(&[3u8; 5000]);
        let second = zstd(b"more");
        let mut stray = first.clone();
        stray.extend_from_slice(b"garbage!");
        let mut cut = first.clone();
        cut.extend_from_slice(&second[..second.len() - 3]);
        let mut skip_cut = first.clone();
        skip_cut.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
        skip_cut.extend_from_slice(&100u32.to_le_bytes());
        skip_cut.extend_from_slice(b"short");
        let mut tiny = first.clone();
        tiny.extend_from_slice(b"xy");
        for (what, bytes) in [
            ("stray", stray),
            ("cut", cut),
            ("skippable cut", skip_cut),
            ("two stray bytes", tiny),
        ] {
            let meter = Meter::new(Limits::default());
            let mut r = open(Box::new(io::Cursor::new(bytes)), &meter).unwrap();
            assert!(read_all(&mut r).is_err(), "{what}");
        }
        // A gzip layer with stray bytes after its last member is an error too.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"tar").unwrap();
        let mut gz = gz.finish().unwrap();
        gz.extend_from_slice(b"garbage!");
        let meter = Meter::new(Limits::default());
        let mut r = open(Box::new(io::Cursor::new(gz)), &meter).unwrap();
        assert!(read_all(&mut r).is_err(), "gzip stray bytes");
    }

    /// A later frame with a window past the limit is refused like a first one.
    #[test]
    fn a_later_frames_window_is_checked_too() {
        let mut stream = zstd(b"small");
        stream.extend_from_slice(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0, 0, 0, 0]);
        let meter = Meter::new(Limits::default());
        let mut r = open(Box::new(io::Cursor::new(stream)), &meter).unwrap();
        let e = read_all(&mut r).unwrap_err();
        assert!(e.to_string().contains("window"), "{e}");
    }

    #[test]
    fn zstd_windows_are_read_from_the_frame_header() {
        // Window_Descriptor 0x58: exponent 11, mantissa 0 -> 2^21 = 2 MiB.
        assert_eq!(
            zstd_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]),
            Some(2 << 20)
        );
        // Single segment, 4-byte content size of 1,000,000.
        let mut h = vec![0x28, 0xb5, 0x2f, 0xfd, 0xa0];
        h.extend_from_slice(&1_000_000u32.to_le_bytes());
        assert_eq!(zstd_window(&h), Some(1_000_000));
        // 0xf8: exponent 31 -> 2 GiB: refused before any allocation.
        let huge = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0, 0];
        let meter = Meter::new(Limits::default());
        let mut r = open(Box::new(io::Cursor::new(huge.to_vec())), &meter).unwrap();
        let e = read_all(&mut r).unwrap_err();
        assert!(e.to_string().contains("window"), "{e}");
    }
}
