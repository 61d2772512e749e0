//! Block-file obfuscation. Bitcoin Core 28+ writes an 8-byte key to
//! `blocks/xor.dat` and XORs byte `i` of every blk/rev file with
//! `key[i % 8]`.

use std::path::Path;

use crate::error::BtcError;

/// A non-zero 8-byte obfuscation key.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct XorKey([u8; 8]);

impl XorKey {
    /// The key, or `None` for the all-zero key (which obfuscates nothing).
    pub fn new(key: [u8; 8]) -> Option<XorKey> {
        if key == [0; 8] {
            None
        } else {
            Some(XorKey(key))
        }
    }

    /// Reads `<blocks_dir>/xor.dat`. A missing file or an all-zero key means
    /// no obfuscation; a file that is not 8 bytes long is an error.
    pub fn load(blocks_dir: &Path) -> Result<Option<XorKey>, BtcError> {
        let path = blocks_dir.join("xor.dat");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(BtcError::Io { path, source }),
        };
        let key: [u8; 8] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| BtcError::XorKeyLength {
                len: bytes.len() as u64,
                path: path.clone(),
            })?;
        Ok(XorKey::new(key))
    }

    /// The key bytes.
    pub fn bytes(&self) -> [u8; 8] {
        self.0
    }

    /// XORs `buf`, which sits at `file_offset` in its file, in place. Applying
    /// it twice restores the input.
    pub fn apply(&self, buf: &mut [u8], file_offset: u64) {
        let mut key = self.0;
        key.rotate_left((file_offset % 8) as usize);
        let k = u64::from_ne_bytes(key);
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            let v = u64::from_ne_bytes((&*c).try_into().expect("chunk is 8 bytes")) ^ k;
            c.copy_from_slice(&v.to_ne_bytes());
        }
        for (b, k) in chunks.into_remainder().iter_mut().zip(key) {
            *b ^= k;
        }
    }
}

/// Copies `N` bytes at `offset` of `data`, de-obfuscated.
pub(crate) fn read_array<const N: usize>(
    data: &[u8],
    offset: usize,
    xor: Option<&XorKey>,
) -> [u8; N] {
    let mut a: [u8; N] = data[offset..offset + N]
        .try_into()
        .expect("slice is N bytes");
    if let Some(x) = xor {
        x.apply(&mut a, offset as u64);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_matches_bytewise_definition() {
        let key = XorKey::new([1, 2, 3, 4, 5, 6, 7, 0x80]).unwrap();
        let data: Vec<u8> = (0..100u8).collect();
        for start in 0..20usize {
            let mut buf = data[start..].to_vec();
            key.apply(&mut buf, start as u64);
            for (i, b) in buf.iter().enumerate() {
                let off = start + i;
                assert_eq!(*b, data[off] ^ key.0[off % 8]);
            }
            key.apply(&mut buf, start as u64);
            assert_eq!(buf, &data[start..]);
        }
    }

    #[test]
    fn load_missing_zero_bad_and_good() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(XorKey::load(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join("xor.dat"), [0u8; 8]).unwrap();
        assert_eq!(XorKey::load(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join("xor.dat"), [9u8; 8]).unwrap();
        assert_eq!(XorKey::load(dir.path()).unwrap(), XorKey::new([9; 8]));
        std::fs::write(dir.path().join("xor.dat"), [9u8; 7]).unwrap();
        let e = XorKey::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("xor.dat") && e.contains("7 bytes"), "{e}");
    }
}
