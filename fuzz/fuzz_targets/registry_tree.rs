//! `regent validate` over a small registry in a temporary Git working tree,
//! with one of its four files (chosen by the first byte) replaced by the rest
//! of the input.
#![no_main]

include!("../checks.rs");

use std::sync::OnceLock;

/// The scratch registry outlives every iteration; libFuzzer runs one input at
/// a time, so the Mutex is never contended.
fn scratch() -> &'static std::sync::Mutex<Scratch> {
    static SCRATCH: OnceLock<std::sync::Mutex<Scratch>> = OnceLock::new();
    SCRATCH.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("regent-fuzz-tree-{}", std::process::id()));
        // A folder left by a killed run with the same pid is stale.
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("creating the scratch registry folder");
        std::sync::Mutex::new(Scratch::new(&root))
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    scratch()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .check(data)
});
