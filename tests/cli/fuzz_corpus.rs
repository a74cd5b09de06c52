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

/// The two bugs fuzzing found, as a user meets them: a YAML error and a
/// schema error at the end of a file without a final line break were placed
/// on a line the file does not have (line 3 of a two-line file).
#[test]
fn errors_at_the_end_of_a_file_are_on_its_last_line() {
    use regent::registry::{Config, ModelFile};
    for (bytes, line, column) in [
        (b"[hur>n,\nve".as_slice(), 2, 3),
        (b"&-2 # -a\n #b`a{".as_slice(), 2, 7),
    ] {
        let problems = regent::load::load::<Config>("regent", "regent.yaml", bytes).unwrap_err();
        let places: Vec<(usize, usize)> = problems.iter().map(|p| (p.line, p.column)).collect();
        assert_eq!(places, [(line, column)], "{problems:?}");
        // The same input as another kind of file, through the fuzz check.
        checks::check_registry_file(bytes);
        assert!(regent::load::load::<ModelFile>("model", "m.yaml", bytes).is_err());
    }
}

/// A corpus entry that fails its check fails the replay (and names the entry).
#[test]
fn a_failing_corpus_entry_fails_the_replay() {
    let failing = catch_unwind(|| {
        replay("where_expr", |input| {
            assert!(!input.starts_with(b"metrics"), "planted failure")
        })
    });
    let message = failing.expect_err("a failing check must fail the replay");
    let message = message
        .downcast_ref::<String>()
        .expect("assert! with a format gives a String");
    assert!(message.contains("fuzz/corpus/where_expr/"), "{message}");
}
