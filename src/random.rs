//! A few random bits where regent needs them (run-name suffixes, heredoc
//! delimiters, retry jitter): the standard library's per-process random hasher
//! keys mixed with the clock and the process id. Not for secrets.

use std::hash::{BuildHasher, Hasher};

/// 64 bits that differ between calls and between processes.
pub fn u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    h.finish()
}
