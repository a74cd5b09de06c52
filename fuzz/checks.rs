// What one fuzz input must satisfy, shared word for word by the fuzz targets
// (fuzz/fuzz_targets/*.rs) and the corpus regression test
// (tests/cli/fuzz_corpus.rs), which both `include!` this file, so the two
// cannot drift apart. Every function panics on a broken invariant: libFuzzer
// records that as a crash, the test as a failed corpus entry.
//
// (Plain `//` comments: an `include!`d file may not hold inner doc comments.)

use regent::diagnostic::Diagnostic;
use regent::git::Repo;
use regent::load;
use regent::query::{FieldValue, Query};
use regent::registry::{Config, Layout, ModelFile, RunFile, VersionFile, to_yaml};
use regent::snapshot::Snapshot;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

/// The four kinds of registry file: schema name and a path where one lives.
/// The paths are those of [`BASELINE`], so a fuzzed file can replace one.
pub const KINDS: [(&str, &str); 4] = [
    ("regent", "regent.yaml"),
    ("model", "models/churn/model.yaml"),
    ("version", "models/churn/versions/1.yaml"),
    ("run", "experiments/churn/e3/adam-lr3.yaml"),
];

/// A small valid registry (what `examples/quickstart.sh` writes, trimmed):
/// the background against which one fuzzed file is validated.
pub const BASELINE: [(&str, &str); 4] = [
    (
        "regent.yaml",
        "registry: 1\nstages:\n  - name: staging\n  - name: production\n    requires: [staging]\n    \
         approvals: 1\n    approvers: [bob]\n    gates:\n      - {metric: accuracy, min: 0.90}\n",
    ),
    (
        "models/churn/model.yaml",
        "name: churn\ncreated_at: 2026-11-26T20:57:42Z\nstages:\n  production: 1\n",
    ),
    (
        "models/churn/versions/1.yaml",
        "model: churn\nversion: 1\ncreated_at: 2026-11-26T20:57:42Z\ncreated_by: Ada Lovelace\n\
         run: churn/adam-lr3\nartifact:\n  uri: s3://models/churn/adam-lr3.pkl\n  verified: false\n\
         metrics:\n  accuracy: 0.912\nstatus: active\n",
    ),
    (
        "experiments/churn/e3/adam-lr3.yaml",
        "name: adam-lr3\nexperiment: churn\nstatus: finished\n\
         start_time: 2026-11-26T20:57:42Z\nuser: Ada Lovelace\nmetrics:\n  accuracy: 0.912\n",
    ),
];

// ---------------------------------------------------------------------------
// registry_file: bytes loaded as each kind of registry file
// ---------------------------------------------------------------------------

/// Loads `bytes` as every kind of registry file, the way every command reads
/// one (`regent::load::load`: validation, resolution and events alike).
pub fn check_registry_file(bytes: &[u8]) {
    check_kind::<Config>("regent", KINDS[0].1, bytes);
    check_kind::<ModelFile>("model", KINDS[1].1, bytes);
    check_kind::<VersionFile>("version", KINDS[2].1, bytes);
    check_kind::<RunFile>("run", KINDS[3].1, bytes);
}

fn check_kind<T>(schema: &str, file: &str, bytes: &[u8])
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    match load::load::<T>(schema, file, bytes) {
        Ok(loaded) => check_round_trip(schema, file, &loaded.value),
        Err(problems) => check_located(file, bytes, &problems),
    }
}

/// What regent writes from a value it loaded loads back to the same value, and
/// writing is deterministic: `regent` rewrites files it read (assign, deprecate),
/// so a value that cannot survive that would be silently changed or refused.
fn check_round_trip<T>(schema: &str, file: &str, value: &T)
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let written = to_yaml(schema, value)
        .unwrap_or_else(|e| panic!("a loaded {schema} file cannot be written: {e}"));
    let reloaded = load::load::<T>(schema, file, written.as_bytes()).unwrap_or_else(|problems| {
        panic!("regent wrote a {schema} file it refuses:\n{written}\n{problems:#?}")
    });
    assert_eq!(
        &reloaded.value, value,
        "a {schema} file changed on a write/read round trip:\n{written}"
    );
    let rewritten = to_yaml(schema, &reloaded.value).expect("written once already");
    assert_eq!(
        rewritten, written,
        "writing a {schema} file is not deterministic"
    );
}

/// Every problem names the file and a real position in it: line and column
/// from 1, and no line past the end of the text.
fn check_located(file: &str, bytes: &[u8], problems: &[Diagnostic]) {
    assert!(!problems.is_empty(), "{file}: refused without a reason");
    // An upper bound on YAML's line breaks (`\r\n` counts once there, twice
    // here; NEL, LS and PS are breaks too). A position may be on the line after
    // the last break, not further.
    let breaks = bytes.iter().filter(|&&b| b == b'\n' || b == b'\r').count()
        + bytes.windows(2).filter(|w| *w == [0xc2, 0x85]).count()
        + bytes
            .windows(3)
            .filter(|w| *w == [0xe2, 0x80, 0xa8] || *w == [0xe2, 0x80, 0xa9])
            .count();
    for problem in problems {
        assert_eq!(problem.file, file, "{problem}");
        assert!(problem.line >= 1 && problem.column >= 1, "{problem}");
        assert!(
            problem.line <= breaks + 1,
            "{problem}: line past the end of a {}-line text",
            breaks + 1
        );
        assert!(!problem.message.trim().is_empty(), "{problem}: no message");
    }
}

// ---------------------------------------------------------------------------
// registry_tree: one fuzzed file validated in a whole registry
// ---------------------------------------------------------------------------

/// A registry in a temporary Git working tree holding [`BASELINE`], opened once
/// (opening a repository costs more than validating four small files).
pub struct Scratch {
    root: PathBuf,
    repo: Repo,
}

impl Scratch {
    /// Creates the registry in `root`, an empty folder the caller owns.
    pub fn new(root: &Path) -> Scratch {
        write_files(root, &BASELINE);
        let status = std::process::Command::new("git")
            .args(["init", "--quiet"])
            .arg(root)
            .status()
            .expect("running git init");
        assert!(status.success(), "git init {} failed", root.display());
        let scratch = Scratch {
            root: root.to_path_buf(),
            repo: Repo::open_registry(root).expect("opening the scratch registry"),
        };
        let problems = scratch.validate();
        assert!(
            problems.is_empty(),
            "the baseline is invalid: {problems:#?}"
        );
        scratch
    }

    fn validate(&self) -> Vec<Diagnostic> {
        let snapshot = Snapshot::work_tree(&self.repo).expect("a working-tree snapshot");
        regent::validate::validate(&snapshot).expect("validating regular files in a folder")
    }

    /// `regent validate` with the file of kind `input[0] % 4` replaced by the
    /// rest of `input`. Validation must locate every problem, and must not
    /// accept a file that loading it on its own refuses.
    pub fn check(&self, input: &[u8]) {
        let Some((&selector, bytes)) = input.split_first() else {
            return;
        };
        let (schema, path) = KINDS[usize::from(selector) % KINDS.len()];
        write_files(&self.root, &BASELINE);
        std::fs::write(self.root.join(path), bytes).expect("writing the fuzzed file");
        let problems = self.validate();
        for problem in &problems {
            assert!(
                problem.line >= 1 && problem.column >= 1 && !problem.message.is_empty(),
                "{problem}"
            );
            assert!(
                KINDS.iter().any(|(_, p)| *p == problem.file),
                "{problem}: a diagnostic for a file that is not in the registry"
            );
        }
        let refused = match schema {
            "regent" => load::load::<Config>(schema, path, bytes).is_err(),
            "model" => load::load::<ModelFile>(schema, path, bytes).is_err(),
            "version" => load::load::<VersionFile>(schema, path, bytes).is_err(),
            _ => load::load::<RunFile>(schema, path, bytes).is_err(),
        };
        if refused {
            assert!(
                problems.iter().any(|p| p.file == path),
                "validate accepted {path}, which does not load:\n{problems:#?}"
            );
        }
    }
}

fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().expect("a registry path has a folder"))
            .expect("creating a registry folder");
        std::fs::write(full, text).expect("writing a baseline file");
    }
}

/// `Layout` must agree with [`KINDS`]: the fuzzed paths are real registry paths.
pub fn kinds_match_layout() -> bool {
    KINDS[0].1 == Layout::CONFIG
        && KINDS[1].1 == Layout::model("churn")
        && KINDS[2].1 == Layout::version("churn", 1)
        && KINDS[3].1 == Layout::run("churn", "adam-lr3")
}

// ---------------------------------------------------------------------------
// where_expr: `regent run list --where` expressions
// ---------------------------------------------------------------------------

/// The fields of one run as `run list --where` sees them.
fn run_record() -> HashMap<&'static str, FieldValue> {
    let text = |s: &str| FieldValue::Text(s.to_owned());
    HashMap::from([
        ("name", text("adam-lr3")),
        ("experiment", text("churn")),
        ("id", text("churn/adam-lr3")),
        ("status", text("finished")),
        ("user", text("Ada Lovelace")),
        ("start_time", text("2026-11-26T20:57:42Z")),
        ("metrics.accuracy", FieldValue::Number(0.912)),
        ("metrics.val/loss", FieldValue::Number(0.3)),
        ("metrics.val loss", FieldValue::Number(-1e-3)),
        ("params.lr", text("0.001")),
        ("params.optimizer", text("adam")),
        ("params.nan", text("NaN")),
        ("tags.team", text("vision")),
        ("tags.flag", text("false")),
        ("source.branch", text("main")),
        ("source.dirty", FieldValue::Bool(false)),
    ])
}

/// Parses `input` (command-line arguments are UTF-8, so other bytes are not
/// an expression anyone can type) and evaluates it against a fixed run.
pub fn check_where_expr(input: &[u8]) {
    let Ok(source) = std::str::from_utf8(input) else {
        return;
    };
    let record = run_record();
    let lookup = |path: &str| record.get(path).cloned();
    match Query::parse(source) {
        Ok(query) => {
            let matched = query.matches(&lookup);
            let _ = query.fields();
            // Negation is negation: `not ( q )` holds exactly when `q` does not
            // (when the wrapped text still parses: it is one level deeper).
            if let Ok(negated) = Query::parse(&format!("not ( {source} )")) {
                assert_eq!(
                    negated.matches(&lookup),
                    !matched,
                    "`not ( {source} )` does not negate `{source}`"
                );
            }
        }
        Err(e) => {
            let length = source.chars().count();
            assert!(
                e.column >= 1 && e.column <= length + 1,
                "column {} outside a {length}-character expression: {e}",
                e.column
            );
            assert!(!e.message.is_empty());
            // What the CLI prints under the error.
            let rendered = e.render(source);
            assert!(rendered.contains(&e.message), "{rendered}");
        }
    }
}
