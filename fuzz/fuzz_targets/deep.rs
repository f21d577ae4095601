//! The deep check's readers on any bytes: the ELF header and `#!` line readers on a file's
//! first bytes, and the tar walker (with the decompressing layer stream in front) on a layer;
//! never a panic, never unbounded memory.
#![no_main]

use ecr_arch_guard::binary::elf::Elf;
use ecr_arch_guard::binary::layer_stream::{self, Limits, Meter};
use ecr_arch_guard::binary::shebang::Shebang;
use ecr_arch_guard::binary::tar_walk::{Kind, TarWalk};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(elf) = Elf::parse(data) {
        let _ = elf.platform();
        let _ = elf.to_string();
    }
    if let Some(s) = Shebang::parse(data) {
        let _ = s.env_program();
    }
    let limits = Limits {
        download: 1 << 20,
        expanded: 4 << 20,
        ..Limits::default()
    };
    let meter = Meter::new(limits);
    let Ok(stream) = layer_stream::open(Box::new(std::io::Cursor::new(data.to_vec())), &meter)
    else {
        return;
    };
    let mut walk = TarWalk::new(stream);
    for _ in 0..10_000 {
        match walk.next_entry() {
            Ok(Some(e)) if e.kind == Kind::File => {
                let _ = walk.read_head(&e, 4096);
            }
            Ok(Some(_)) => {}
            _ => break,
        }
    }
});
