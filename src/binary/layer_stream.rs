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

mod zstd;

use zstd::{is_zstd_start, ZstdFrames};

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    pub(super) fn read_all(r: &mut dyn Read) -> io::Result<Vec<u8>> {
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
}
