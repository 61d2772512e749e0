//! Importers: outside files → [`Edition`]s. Each reads and checks its whole
//! input before anything is stored, so a bad file never leaves half a
//! source imported.

pub mod csv;
pub mod ofac;
pub mod tagpack;

mod archive;
mod ofac_lists;
mod ofac_xml;
mod yaml;

use std::fs;
use std::io::Read;
use std::path::Path;
use std::sync::mpsc;

use sha2::{Digest, Sha256};

use crate::error::{IntelError, Location, Result};

pub use crate::writer::Edition;

/// Reads a whole file.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| IntelError::io(path, e))
}

/// Lower-case hex SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(D[usize::from(b >> 4)]));
        s.push(char::from(D[usize::from(b & 15)]));
    }
    s
}

/// Compression recognised by magic bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Bzip2,
    Xz,
}

pub(crate) fn detect(bytes: &[u8]) -> Compression {
    if bytes.starts_with(b"BZh") {
        Compression::Bzip2
    } else if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Compression::Xz
    } else {
        Compression::None
    }
}

/// Decodes UTF-8 (dropping a byte-order mark) or says where it is not.
pub(crate) fn utf8<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        IntelError::input(
            Location::file(file).at_line(line).at_offset(at as u64),
            "not valid utf-8",
        )
    })
}

/// Runs `consume` on what `produce` reads, with `produce` on its own thread
/// (decompression beside parsing): chunks of 256 KiB through a channel.
pub(crate) fn pipelined<P, T>(produce: P, consume: impl FnOnce(&mut dyn Read) -> T) -> T
where
    P: Read + Send,
{
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<std::io::Result<Vec<u8>>>(8);
        s.spawn(move || {
            let mut produce = produce;
            loop {
                let mut buf = vec![0u8; 256 << 10];
                let r = read_full(&mut produce, &mut buf).map(|n| {
                    buf.truncate(n);
                    buf
                });
                let done = !matches!(&r, Ok(b) if !b.is_empty());
                if tx.send(r).is_err() || done {
                    return;
                }
            }
        });
        let mut reader = ChannelReader {
            rx,
            chunk: Vec::new(),
            at: 0,
        };
        consume(&mut reader)
    })
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(c)) => {
                    self.chunk = c;
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The display name of a path.
pub(crate) fn display(path: &Path) -> String {
    path.display().to_string()
}
