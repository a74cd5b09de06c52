//! The fuzz corpora (`fuzz/corpus/<target>/`) as a regression suite: every
//! committed input goes through the same checks as its fuzz target, which
//! `include!` the very same file (`fuzz/checks.rs`), so a bug the fuzzer once
//! found stays found on stable Rust, in `cargo test`, without libFuzzer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// The fuzz targets' per-input checks (not a copy).
mod checks {
    #![allow(dead_code)]
    include!("../../fuzz/checks.rs");
}

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    files.sort();
    files
}

/// Runs `check` on every input of `target`'s corpus and fails naming each
/// input that panicked (the panic message itself is printed by the hook).
fn replay(target: &str, check: impl Fn(&[u8])) {
    let files = corpus(target);
    assert!(
        files.len() >= 20,
        "{target}: only {} corpus files; was fuzz/corpus/{target} deleted?",
        files.len()
    );
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let bytes = std::fs::read(path).expect("reading a corpus file");
            catch_unwind(AssertUnwindSafe(|| check(&bytes))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: {} of {} corpus inputs fail their fuzz checks:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

#[test]
fn registry_file_corpus_loads_without_panics() {
    replay("registry_file", checks::check_registry_file);
}

#[test]
fn registry_tree_corpus_validates_without_panics() {
    assert!(
        checks::kinds_match_layout(),
        "fuzz/checks.rs KINDS drifted from Layout"
    );
    let dir = tempfile::tempdir().expect("a temporary folder");
    let scratch = checks::Scratch::new(dir.path());
    replay("registry_tree", |input| scratch.check(input));
}

#[test]
fn where_expr_corpus_parses_without_panics() {
    replay("where_expr", checks::check_where_expr);
}

/// The checks are not vacuous: each invariant the fuzzers rely on rejects a
/// broken input of its kind.
#[test]
fn the_checks_catch_what_they_claim_to() {
    // A file regent refuses is reported with a position inside it.
    let problems =
        regent::load::load::<regent::registry::ModelFile>("model", "m.yaml", b"name: [\n")
            .unwrap_err();
    assert!(
        problems.iter().all(|p| p.line >= 1 && p.line <= 2),
        "{problems:?}"
    );
    // A corpus entry that fails the checks fails the replay.
    let failing = catch_unwind(|| {
        replay("where_expr", |input| {
            assert!(!input.starts_with(b"metrics"), "planted failure")
        })
    });
    assert!(failing.is_err(), "a failing check must fail the replay");
}
