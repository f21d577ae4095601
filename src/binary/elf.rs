//! An ELF file's own word on what it runs on: its header's class, byte order and machine, and
//! whether it is linked statically or names a program interpreter (the dynamic loader).
//!
//! Layout from the System V ABI and glibc's `elf.h`: `e_ident` (magic `\x7fELF`, `EI_CLASS` 1 =
//! 32-bit / 2 = 64-bit, `EI_DATA` 1 = little / 2 = big endian), `e_type` at 16, `e_machine` at
//! 18; the program header table at `e_phoff` (64-bit: offset 32, 8 bytes; 32-bit: 28, 4 bytes),
//! `e_phentsize` and `e_phnum` after the flags (64-bit: 54 and 56; 32-bit: 42 and 44); a
//! program header's `p_type` first, `PT_INTERP` = 3 naming the interpreter at `p_offset` for
//! `p_filesz` bytes (64-bit: offset 8 and 32; 32-bit: 4 and 16).
//!
//! Pure: a prefix of the file in, a description out; never a panic on any bytes.

use std::fmt;

use serde::Serialize;

use crate::image::platform::Platform;

/// `e_machine` values (glibc `elf.h`).
pub const EM_386: u16 = 3;
pub const EM_MIPS: u16 = 8;
pub const EM_PPC64: u16 = 21;
pub const EM_S390: u16 = 22;
pub const EM_ARM: u16 = 40;
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;
pub const EM_RISCV: u16 = 243;
pub const EM_LOONGARCH: u16 = 258;

const PT_INTERP: u32 = 3;
/// Program headers read at most (a real executable has a dozen).
const MAX_PROGRAM_HEADERS: usize = 256;

/// What the header says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Elf {
    /// 32 or 64.
    pub bits: u8,
    pub little_endian: bool,
    pub machine: u16,
    /// `ET_EXEC` 2, `ET_DYN` 3 (a PIE or a shared object), ...
    pub file_type: u16,
    pub linking: Linking,
}

/// Static, or dynamic with the loader it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "linking", content = "interpreter", rename_all = "kebab-case")]
pub enum Linking {
    Static,
    Dynamic(String),
    /// The program headers lie beyond the bytes read.
    Unknown,
}

/// Why bytes are not an ELF header this code can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotElf {
    /// No `\x7fELF` magic.
    NoMagic,
    /// The magic, then something broken (the reason).
    Broken(String),
}

impl Elf {
    /// Reads the header (and the program headers, when `head` holds them).
    pub fn parse(head: &[u8]) -> Result<Elf, NotElf> {
        if head.len() < 4 || &head[..4] != b"\x7fELF" {
            return Err(NotElf::NoMagic);
        }
        let broken = |why: &str| NotElf::Broken(why.to_string());
        if head.len() < 20 {
            return Err(broken("the header is cut short"));
        }
        let bits = match head[4] {
            1 => 32,
            2 => 64,
            c => {
                return Err(NotElf::Broken(format!(
                    "EI_CLASS {c} is neither 32 nor 64-bit"
                )))
            }
        };
        let little_endian = match head[5] {
            1 => true,
            2 => false,
            d => return Err(NotElf::Broken(format!("EI_DATA {d} is no byte order"))),
        };
        let r = Reader {
            bytes: head,
            little_endian,
        };
        let file_type = r.u16(16).ok_or_else(|| broken("no e_type"))?;
        let machine = r.u16(18).ok_or_else(|| broken("no e_machine"))?;
        let linking = r.linking(bits).unwrap_or(Linking::Unknown);
        Ok(Elf {
            bits,
            little_endian,
            machine,
            file_type,
            linking,
        })
    }

    /// The platform this binary runs on (Linux, by the machine, class and byte order: the
    /// names Go and the OCI image spec use); `None` for a machine not in the table.
    pub fn platform(&self) -> Option<Platform> {
        let arch = match (self.machine, self.bits, self.little_endian) {
            (EM_X86_64, 64, true) => "amd64",
            (EM_AARCH64, 64, true) => "arm64",
            (EM_AARCH64, 64, false) => "arm64be",
            (EM_ARM, 32, true) => "arm",
            (EM_386, 32, true) => "386",
            (EM_PPC64, 64, true) => "ppc64le",
            (EM_PPC64, 64, false) => "ppc64",
            (EM_S390, 64, false) => "s390x",
            (EM_S390, 32, false) => "s390",
            (EM_RISCV, 64, true) => "riscv64",
            (EM_MIPS, 64, true) => "mips64le",
            (EM_MIPS, 64, false) => "mips64",
            (EM_MIPS, 32, true) => "mipsle",
            (EM_MIPS, 32, false) => "mips",
            (EM_LOONGARCH, 64, true) => "loong64",
            _ => return None,
        };
        Platform::from_parts("linux", arch, None)
    }

    /// `x86-64`, `AArch64`, `ARM`, … as `file(1)` names machines.
    pub fn machine_name(&self) -> String {
        match self.machine {
            EM_X86_64 => "x86-64".into(),
            EM_AARCH64 => "ARM aarch64".into(),
            EM_ARM => "ARM".into(),
            EM_386 => "Intel 80386".into(),
            EM_PPC64 => "64-bit PowerPC".into(),
            EM_S390 => "IBM S/390".into(),
            EM_RISCV => "RISC-V".into(),
            EM_MIPS => "MIPS".into(),
            EM_LOONGARCH => "LoongArch".into(),
            m => format!("machine {m}"),
        }
    }
}

impl fmt::Display for Elf {
    /// `ELF 64-bit LSB x86-64, statically linked` (the words of `file(1)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = if self.little_endian { "LSB" } else { "MSB" };
        write!(f, "ELF {}-bit {order} {}", self.bits, self.machine_name())?;
        match &self.linking {
            Linking::Static => write!(f, ", statically linked"),
            Linking::Dynamic(i) => write!(f, ", dynamically linked, interpreter {i}"),
            Linking::Unknown => Ok(()),
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    little_endian: bool,
}

impl Reader<'_> {
    fn take<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.bytes.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    fn u16(&self, at: usize) -> Option<u16> {
        let b = self.take::<2>(at)?;
        Some(if self.little_endian {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b = self.take::<4>(at)?;
        Some(if self.little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn u64(&self, at: usize) -> Option<u64> {
        let b = self.take::<8>(at)?;
        Some(if self.little_endian {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }

    /// A word: 4 bytes in a 32-bit file, 8 in a 64-bit one.
    fn word(&self, bits: u8, at: usize) -> Option<u64> {
        if bits == 64 {
            self.u64(at)
        } else {
            self.u32(at).map(u64::from)
        }
    }

    /// PT_INTERP's string, or static when there is none; `None` when the table is out of
    /// reach of the bytes read.
    fn linking(&self, bits: u8) -> Option<Linking> {
        let (phoff_at, phentsize_at, phnum_at) = if bits == 64 {
            (32, 54, 56)
        } else {
            (28, 42, 44)
        };
        let phoff = usize::try_from(self.word(bits, phoff_at)?).ok()?;
        let phentsize = usize::from(self.u16(phentsize_at)?);
        let phnum = usize::from(self.u16(phnum_at)?);
        if phentsize == 0 || phnum > MAX_PROGRAM_HEADERS {
            return None;
        }
        for i in 0..phnum {
            let at = phoff.checked_add(i.checked_mul(phentsize)?)?;
            if self.u32(at)? != PT_INTERP {
                continue;
            }
            let (offset, size) = if bits == 64 {
                (self.u64(at + 8)?, self.u64(at + 32)?)
            } else {
                (u64::from(self.u32(at + 4)?), u64::from(self.u32(at + 16)?))
            };
            let start = usize::try_from(offset).ok()?;
            let end = start.checked_add(usize::try_from(size).ok()?)?;
            let raw = self.bytes.get(start..end)?;
            let path = raw.split(|b| *b == 0).next().unwrap_or_default();
            return Some(Linking::Dynamic(String::from_utf8_lossy(path).into_owned()));
        }
        Some(Linking::Static)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal 64-bit little-endian header for `machine` with one program header, PT_INTERP
    /// naming `interp` when given.
    fn elf64(machine: u16, interp: Option<&str>) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 56];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[6] = 1;
        b[16..18].copy_from_slice(&3u16.to_le_bytes());
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&1u16.to_le_bytes());
        if let Some(i) = interp {
            b[64..68].copy_from_slice(&PT_INTERP.to_le_bytes());
            b[72..80].copy_from_slice(&120u64.to_le_bytes());
            b[96..104].copy_from_slice(&(i.len() as u64 + 1).to_le_bytes());
            b.extend_from_slice(i.as_bytes());
            b.push(0);
        } else {
            b[64..68].copy_from_slice(&1u32.to_le_bytes());
        }
        b
    }

    #[test]
    fn machines_map_to_platforms() {
        let x86 = Elf::parse(&elf64(EM_X86_64, None)).unwrap();
        assert_eq!(x86.platform().unwrap().to_string(), "linux/amd64");
        assert_eq!(x86.linking, Linking::Static);
        assert_eq!(x86.to_string(), "ELF 64-bit LSB x86-64, statically linked");
        let arm = Elf::parse(&elf64(EM_AARCH64, Some("/lib/ld-linux-aarch64.so.1"))).unwrap();
        assert_eq!(arm.platform().unwrap().to_string(), "linux/arm64");
        assert_eq!(
            arm.linking,
            Linking::Dynamic("/lib/ld-linux-aarch64.so.1".into())
        );
        let mut unknown = elf64(0x1234, None);
        assert_eq!(Elf::parse(&unknown).unwrap().platform(), None);
        unknown[4] = 3;
        assert!(matches!(Elf::parse(&unknown), Err(NotElf::Broken(_))));
    }

    #[test]
    fn short_or_foreign_bytes_are_not_elf_and_never_panic() {
        assert_eq!(Elf::parse(b"#!/bin/sh\n"), Err(NotElf::NoMagic));
        assert!(matches!(Elf::parse(b"\x7fELF\x02"), Err(NotElf::Broken(_))));
        // Program headers beyond the bytes read: linking unknown, machine still told.
        let full = elf64(EM_X86_64, Some("/lib64/ld-linux-x86-64.so.2"));
        let cut = Elf::parse(&full[..64]).unwrap();
        assert_eq!(cut.linking, Linking::Unknown);
        assert_eq!(cut.machine, EM_X86_64);
        for len in 0..full.len() {
            let _ = Elf::parse(&full[..len]);
        }
        // A program header table pointing anywhere.
        let mut wild = elf64(EM_X86_64, None);
        wild[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(Elf::parse(&wild).unwrap().linking, Linking::Unknown);
    }
}
