//! Plain-text input files read through a memory map: the parser reads the
//! page cache in place, where `read(2)` copied every byte out of it first
//! (in a profile of the build on the replicated real traces, that copy was
//! 5% of the CPU samples).

use std::fs::File;
use std::io::{BufRead, Read};

use memmap2::{Advice, Mmap, UncheckedAdvice};

/// Bytes read before the pages behind them are let go, so that resident
/// memory stays flat however big the file is (the page cache keeps them).
const RELEASE_EVERY: usize = 8 << 20;

/// Files smaller than this are read with `read(2)`: a map costs more to set
/// up than copying a few pages.
pub const MAP_AT_LEAST: u64 = 1 << 20;

/// A read-only map of a whole file, read front to back.
pub struct MappedFile {
    map: Mmap,
    pos: usize,
    /// Everything before this offset has been handed back to the kernel.
    released: usize,
    release_every: usize,
}

impl MappedFile {
    /// Maps `file`, or `None` where it cannot be mapped (a pipe, a special
    /// file): the caller then reads it the ordinary way.
    pub fn open(file: &File) -> Option<Self> {
        // SAFETY: the map is read-only and no one but this reader sees it.
        // Another process truncating the file while a build reads it would
        // fault (SIGBUS), as it does for every tool that maps its input; an
        // input that changes mid-build would be wrong either way.
        let map = unsafe { Mmap::map(file) }.ok()?;
        // Read once, front to back: ask for read-ahead (only a hint).
        let _ = map.advise(Advice::Sequential);
        Some(MappedFile {
            map,
            pos: 0,
            released: 0,
            release_every: RELEASE_EVERY,
        })
    }

    fn release_consumed(&mut self) {
        let consumed = self.pos - self.released;
        if consumed < self.release_every {
            return;
        }
        // SAFETY: no borrow of the mapped bytes outlives `consume`: `fill_buf`'s
        // slice is tied to `&mut self`, and the bytes before `pos` are never
        // handed out again. On a shared read-only file map, DONTNEED drops
        // the pages from this process only; a later touch would read them
        // from the page cache again.
        let _ = unsafe {
            self.map
                .unchecked_advise_range(UncheckedAdvice::DontNeed, self.released, consumed)
        };
        self.released = self.pos;
    }
}

impl Read for MappedFile {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.fill_buf()?.read(out)?;
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for MappedFile {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Ok(&self.map[self.pos..])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.map.len());
        self.release_consumed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_lines_and_bytes_as_a_buffered_reader_does() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let text: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
        file.write_all(text.as_bytes()).unwrap();
        file.flush().unwrap();
        let mut mapped = MappedFile::open(file.as_file()).unwrap();
        // Pages are let go every few kilobytes here, not every 8 MiB.
        mapped.release_every = 4096;
        let mut first = String::new();
        mapped.read_line(&mut first).unwrap();
        assert_eq!(first, "line 0\n");
        let mut head = [0u8; 7];
        mapped.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"line 1\n");
        let mut rest = String::new();
        mapped.read_to_string(&mut rest).unwrap();
        assert_eq!(first.len() + head.len() + rest.len(), text.len());
        assert!(rest.ends_with("line 49999\n"));
        assert!(mapped.fill_buf().unwrap().is_empty());
        assert!(mapped.released > text.len() - 8192);
    }
}
