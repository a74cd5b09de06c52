//! SHA-256 digests as regent records them (`sha256:<64 lowercase hex>`), and
//! hashing a file by streaming it, so a 2 GB artifact costs a buffer, not 2 GB.

use super::ArtifactError;
use sha2::{Digest as _, Sha256};
use std::io::Read;
use std::path::Path;

/// A SHA-256 digest. Displayed as `sha256:<hex>`, the form files record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// From 64 lowercase hex digits.
    pub fn from_hex(hex: &str) -> Option<Digest> {
        let well_formed = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| Digest {
            hex: hex.to_owned(),
        })
    }

    /// From `sha256:<64 lowercase hex>`, as recorded.
    pub fn parse(text: &str) -> Option<Digest> {
        Digest::from_hex(text.strip_prefix("sha256:")?)
    }

    /// The digest of bytes in memory.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest {
            hex: hex::encode(Sha256::digest(bytes)),
        }
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

/// A running SHA-256 with the byte count, for hashing while streaming.
#[derive(Default)]
pub struct Hasher {
    sha: Sha256,
    size: u64,
}

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha.update(bytes);
        self.size += bytes.len() as u64;
    }

    pub fn finish(self) -> (Digest, u64) {
        (
            Digest {
                hex: hex::encode(self.sha.finalize()),
            },
            self.size,
        )
    }
}

/// Read size for hashing and uploading: large enough for throughput, small
/// enough that memory stays flat whatever the file's size.
pub const CHUNK: usize = 1 << 20;

/// The digest and size of a file's bytes, read in [`CHUNK`]s.
pub fn file(path: &Path) -> Result<(Digest, u64), ArtifactError> {
    let io = |source| ArtifactError::io(path, source);
    let mut file = fs_err::File::open(path).map_err(io)?;
    let mut hasher = Hasher::default();
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buffer).map_err(io)?;
        if n == 0 {
            return Ok(hasher.finish());
        }
        hasher.update(&buffer[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_read_and_print_as_recorded() {
        let abc = Digest::of(b"abc");
        assert_eq!(
            abc.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Digest::parse(&abc.to_string()), Some(abc.clone()));
        assert_eq!(Digest::from_hex(abc.hex()), Some(abc));
        for bad in [
            "sha256:AB",
            "sha256:",
            "md5:00",
            &format!("sha256:{}", "G".repeat(64)),
        ] {
            assert_eq!(Digest::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn hashes_a_file_by_streaming() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        // Larger than one chunk, and not a multiple of it.
        let bytes: Vec<u8> = (0..CHUNK * 2 + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            file(&path).unwrap(),
            (Digest::of(&bytes), bytes.len() as u64)
        );
    }
}
