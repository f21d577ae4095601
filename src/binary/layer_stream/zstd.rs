//! Zstandard layers (`application/vnd.oci.image.layer.v1.tar+zstd`): a stream of one or more
//! frames (RFC 8878), decoded frame by frame in pure Rust (ruzstd), each frame's window checked
//! before its decoder allocates.

use std::io::{self, BufRead, Read};

const ZSTD_MAGIC: u32 = 0xFD2F_B528;

/// Skippable frames: magic 0x184D2A50 to 0x184D2A5F (RFC 8878, 3.1.2).
fn is_skippable(magic: u32) -> bool {
    magic & 0xFFFF_FFF0 == 0x184D_2A50
}

/// A zstd stream starts with a zstd frame or a skippable frame (pzstd and `zstd:chunked`
/// layers open with one).
pub(super) fn is_zstd_start(head: &[u8]) -> bool {
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
pub(super) struct ZstdFrames<R: BufRead> {
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
    pub(super) fn new(source: R, window_limit: u64) -> Self {
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
    use crate::binary::layer_stream::tests::read_all;
    use crate::binary::layer_stream::{open, Limits, Meter};

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
