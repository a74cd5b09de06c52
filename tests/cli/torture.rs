//! Concurrency torture: sixteen real `regent` processes, one per clone of a
//! single bare remote, doing a seeded random mix of `register`, `promote` and
//! `alias set` with `--push` for a minute. Afterwards, read through a fresh
//! clone: no event that claimed success is lost and none appeared that did
//! not, version numbers are dense and unique, the files at HEAD equal the
//! replay of the history, every tag sits on its own event's commit, and the
//! remote is sound (`git fsck`, `regent validate`).
//!
//! `REGENT_TORTURE_SECS` shortens (or lengthens) the run for local iteration;
//! `REGENT_TORTURE_SEED` changes the seeds. Every command, its exit code and
//! its output go to a log (one JSON line each) that outlives the test:
//! `target/tmp/torture.jsonl`, or the file `REGENT_TORTURE_LOG` names. CI
//! runs the defaults.

use crate::common::TestEnv;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const WORKERS: usize = 16;
const MODELS: [&str; 3] = ["alpha", "beta", "gamma"];
const STAGE: &str = "staging";
const ALIAS: &str = "champion";
/// Versions each model starts with, so promotions have a choice from the start.
const SEED_VERSIONS: u64 = 2;
/// `init`, then per model its registrations, a promotion and an alias.
const SETUP_EVENTS: usize = 1 + MODELS.len() * (SEED_VERSIONS as usize + 2);
const DEFAULT_SECS: u64 = 60;
const DEFAULT_SEED: u64 = 0x5eed_7047_0e55;

#[test]
fn sixteen_pushers_for_a_minute_lose_nothing() {
    let secs = env_number("REGENT_TORTURE_SECS").unwrap_or(DEFAULT_SECS);
    let seed = env_number("REGENT_TORTURE_SEED").unwrap_or(DEFAULT_SEED);
    let torture = Torture::new();
    let clones: Vec<PathBuf> = (0..WORKERS)
        .map(|i| torture.clone_remote(&format!("w{i}")))
        .collect();

    let deadline = Instant::now() + Duration::from_secs(secs);
    let records: Vec<Record> = std::thread::scope(|scope| {
        let handles: Vec<_> = clones
            .iter()
            .enumerate()
            .map(|(id, dir)| {
                let worker = Worker::new(&torture, id, dir, seed);
                scope.spawn(move || worker.run(deadline))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a worker thread"))
            .collect()
    });
    let log = write_log(&records);

    let tally = Tally::of(&records);
    eprintln!(
        "torture: {secs}s, seed {seed:#x}: {tally}; log: {}",
        log.display()
    );
    tally.assert_only_expected_outcomes(&records);
    tally.assert_real_progress(secs);

    let check = torture.clone_remote("check");
    let history = torture.json_in(&check, &["history"]);
    let successes: Vec<&Record> = records.iter().filter(|r| r.code == 0).collect();
    assert_no_lost_or_phantom_event(&successes, &history);
    let replayed = replay(&history);
    assert_versions_dense_and_unique(&history, &replayed);
    assert_artifacts_are_the_registered_ones(&torture, &check, &successes);
    assert_state_is_the_replay(&torture, &check, &replayed);
    assert_tags_consistent(&torture, &history, &successes);
    assert_remote_sound(&torture, &check);
    for clone in &clones {
        assert_worker_clone_agrees(&torture, clone, &history);
    }
}

// ---------------------------------------------------------------------------
// The setup: a registry on a bare remote, and clones of it.

struct Torture {
    env: TestEnv,
    origin: PathBuf,
}

impl Torture {
    /// A registry with every model registered twice, v1 in staging and
    /// named champion, pushed to a bare `origin`. The default policy of
    /// `regent init` lets staging promotions through without approvals.
    fn new() -> Torture {
        let env = TestEnv::with_registry();
        for model in MODELS {
            for n in 1..=SEED_VERSIONS {
                env.run_ok(&["register", model, "--artifact", &seed_uri(model, n)]);
            }
            env.run_ok(&["promote", model, "1", "--to", STAGE]);
            env.run_ok(&["alias", "set", model, ALIAS, "1"]);
        }
        let origin = env.root.join("origin.git");
        let origin_arg = origin.to_str().unwrap();
        env.git_in(
            &env.root,
            &["init", "-q", "--bare", "-b", "main", origin_arg],
        );
        env.git(&["remote", "add", "origin", origin_arg]);
        env.git(&["push", "-q", "--follow-tags", "-u", "origin", "main"]);
        Torture { env, origin }
    }

    fn clone_remote(&self, name: &str) -> PathBuf {
        let dir = self.env.root.join(name);
        let (origin, target) = (self.origin.to_str().unwrap(), dir.to_str().unwrap());
        self.env
            .git_in(&self.env.root, &["clone", "-q", origin, target]);
        dir
    }

    /// Runs `regent ARGS --json` in `dir`, asserts success and parses stdout.
    fn json_in(&self, dir: &Path, args: &[&str]) -> Value {
        let out = self
            .env
            .regent_in(dir)
            .args(args)
            .arg("--json")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "regent {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
    }
}

fn seed_uri(model: &str, n: u64) -> String {
    format!("s3://torture/seed/{model}/{n}")
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={text:?} is not a number")))
}

// ---------------------------------------------------------------------------
// The workers: one thread per clone, each running real `regent` processes
// one after another, so sixteen of them are in flight at any time.

/// One command a worker ran and what came of it.
#[derive(Debug, Clone)]
struct Record {
    worker: usize,
    seq: usize,
    kind: Kind,
    args: Vec<String>,
    code: i32,
    stdout: String,
    stderr: String,
    millis: u128,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Register,
    Promote,
    Alias,
}

impl Kind {
    /// The `event` field of the history entry the command writes.
    fn event(self) -> &'static str {
        match self {
            Kind::Register => "register",
            Kind::Promote => "promote",
            Kind::Alias => "alias",
        }
    }
}

struct Worker<'t> {
    torture: &'t Torture,
    id: usize,
    dir: &'t Path,
    rng: SplitMix,
}

impl<'t> Worker<'t> {
    fn new(torture: &'t Torture, id: usize, dir: &'t Path, seed: u64) -> Worker<'t> {
        Worker {
            torture,
            id,
            dir,
            rng: SplitMix(seed ^ (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        }
    }

    /// Runs commands until the deadline, checking after each one that did
    /// not succeed that the clone is exactly as it was.
    fn run(mut self, deadline: Instant) -> Vec<Record> {
        let mut records = Vec::new();
        let mut head = self.git(&["rev-parse", "HEAD"]);
        let mut expected_tags: BTreeSet<String> = self.local_tags();
        while Instant::now() < deadline {
            let (kind, args) = self.next_command(records.len());
            let record = self.execute(records.len(), kind, args);
            if record.code == 0 {
                let out = parse_json(&record);
                head = out["commit"].as_str().expect("a commit").to_owned();
                expected_tags.extend(string_list(&out["tags"]));
            } else {
                self.assert_unchanged(&head, &record);
            }
            records.push(record);
        }
        // A success moves the local branch to the pushed commit and creates
        // its tags locally; nothing else does.
        assert_eq!(self.git(&["rev-parse", "HEAD"]), head, "worker {}", self.id);
        assert_eq!(self.local_tags(), expected_tags, "worker {}", self.id);
        records
    }

    /// A seeded choice: register 40%, promote 35%, alias 25%, on a random
    /// model, of a version this clone knows to exist.
    fn next_command(&mut self, seq: usize) -> (Kind, Vec<String>) {
        let model = MODELS[self.rng.below(MODELS.len() as u64) as usize];
        let roll = self.rng.below(100);
        let known = self.known_versions(model);
        let n = (1 + self.rng.below(known)).to_string();
        let (kind, mut args): (Kind, Vec<String>) = if roll < 40 {
            let uri = format!("s3://torture/w{}/{seq}", self.id);
            (
                Kind::Register,
                vec!["register".into(), model.into(), "--artifact".into(), uri],
            )
        } else if roll < 75 {
            (
                Kind::Promote,
                vec![
                    "promote".into(),
                    model.into(),
                    n,
                    "--to".into(),
                    STAGE.into(),
                ],
            )
        } else {
            (
                Kind::Alias,
                vec!["alias".into(), "set".into(), model.into(), ALIAS.into(), n],
            )
        };
        args.extend(["--push".into(), "--json".into()]);
        (kind, args)
    }

    /// The number of versions of `model` at this clone's HEAD: the remote
    /// has at least these, since the clone only ever fast-forwards to it.
    fn known_versions(&self, model: &str) -> u64 {
        let dir = self.dir.join("models").join(model).join("versions");
        std::fs::read_dir(&dir)
            .map(|entries| entries.count() as u64)
            .unwrap_or(0)
            .max(SEED_VERSIONS)
    }

    fn execute(&self, seq: usize, kind: Kind, args: Vec<String>) -> Record {
        let actor = format!("w{}", self.id);
        // Each worker's clock is its own, minutes apart from the others', so
        // commit dates go back and forth along the branch as the workers'
        // events interleave: the history must follow the graph, not the dates.
        let skew = 60 * self.id as i64;
        let git_date = format!("@{} +0000", 1_767_323_045 + skew);
        let now = format!("2026-01-02T03:{:02}:05Z", 4 + self.id);
        let started = Instant::now();
        let out = self
            .torture
            .env
            .regent_in(self.dir)
            .env("REGENT_ACTOR", &actor)
            .env("GIT_AUTHOR_DATE", &git_date)
            .env("GIT_COMMITTER_DATE", &git_date)
            .env("REGENT_NOW", &now)
            .args(&args)
            .output()
            .expect("regent starts");
        Record {
            worker: self.id,
            seq,
            kind,
            args,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            millis: started.elapsed().as_millis(),
        }
    }

    /// A refusal or a give-up leaves the branch, the index and the files as
    /// they were (the remote-tracking ref may have moved: that is a fetch).
    fn assert_unchanged(&self, head: &str, record: &Record) {
        assert_eq!(
            self.git(&["rev-parse", "HEAD"]),
            head,
            "a failed command moved the branch: {record:#?}"
        );
        assert_eq!(
            self.git(&["status", "--porcelain", "--untracked-files=all"]),
            "",
            "a failed command left changes: {record:#?}"
        );
    }

    fn local_tags(&self) -> BTreeSet<String> {
        self.git(&["tag", "--list"])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn git(&self, args: &[&str]) -> String {
        self.torture.env.git_in(self.dir, args).trim().to_owned()
    }
}

/// A small, seedable generator (SplitMix64): the same seed gives each
/// worker the same sequence of choices, so a failure's commands can be
/// replayed (the interleaving of processes, of course, cannot).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

fn parse_json(record: &Record) -> Value {
    serde_json::from_str(&record.stdout)
        .unwrap_or_else(|e| panic!("exit 0 without JSON ({e}): {record:#?}"))
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Every command, its exit code and its output, one JSON line each, where
/// a failed run can still be read (the test's own folder is removed).
fn write_log(records: &[Record]) -> PathBuf {
    let path = std::env::var_os("REGENT_TORTURE_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("torture.jsonl"));
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by_key(|r| (r.worker, r.seq));
    let lines: String = sorted
        .iter()
        .map(|r| {
            let line = json!({
                "worker": r.worker, "seq": r.seq, "args": r.args, "code": r.code,
                "millis": r.millis, "stdout": r.stdout, "stderr": r.stderr,
            });
            format!("{line}\n")
        })
        .collect();
    std::fs::write(&path, lines).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

// ---------------------------------------------------------------------------
// Outcomes: every command either landed (exit 0), was refused because it
// would change nothing (exit 1), or gave up after its retries (exit 2).

#[derive(Default)]
struct Tally {
    landed: BTreeMap<Kind, usize>,
    refused: usize,
    gave_up: usize,
    unexpected: usize,
    slowest_millis: u128,
}

impl Tally {
    fn of(records: &[Record]) -> Tally {
        let mut tally = Tally::default();
        for record in records {
            tally.slowest_millis = tally.slowest_millis.max(record.millis);
            match outcome(record) {
                Outcome::Landed => *tally.landed.entry(record.kind).or_default() += 1,
                Outcome::Refused => tally.refused += 1,
                Outcome::GaveUp => tally.gave_up += 1,
                Outcome::Unexpected => tally.unexpected += 1,
            }
        }
        tally
    }

    fn total_landed(&self) -> usize {
        self.landed.values().sum()
    }

    fn attempted(&self) -> usize {
        self.total_landed() + self.refused + self.gave_up + self.unexpected
    }

    fn assert_only_expected_outcomes(&self, records: &[Record]) {
        let strange: Vec<&Record> = records
            .iter()
            .filter(|r| outcome(r) == Outcome::Unexpected)
            .take(5)
            .collect();
        assert!(
            strange.is_empty(),
            "{} commands ended neither in success, a no-op refusal nor a give-up; the first: {strange:#?}",
            self.unexpected
        );
    }

    /// Hundreds of events in a minute, and give-ups the exception: retries
    /// exist so that contention costs time, not commands.
    fn assert_real_progress(&self, secs: u64) {
        let landed = self.total_landed();
        // One event a second is well below what a loaded two-core machine
        // manages (two to three), yet far above what a livelock would allow.
        let wanted = secs as usize;
        assert!(landed >= wanted, "too little landed: {self}");
        for kind in [Kind::Register, Kind::Promote, Kind::Alias] {
            assert!(
                self.landed.get(&kind).copied().unwrap_or(0) > 0,
                "no {kind:?} landed: {self}"
            );
        }
        assert!(
            self.gave_up * 20 <= self.attempted(),
            "more than 5% of the commands gave up: {self}"
        );
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} commands, {} landed (",
            self.attempted(),
            self.total_landed()
        )?;
        for (kind, n) in &self.landed {
            write!(f, "{} {n} ", kind.event())?;
        }
        write!(
            f,
            "), {} refused as no-ops, {} gave up, {} unexpected, slowest {} ms",
            self.refused, self.gave_up, self.unexpected, self.slowest_millis
        )
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Landed,
    Refused,
    GaveUp,
    Unexpected,
}

fn outcome(record: &Record) -> Outcome {
    let clean = !record.stderr.contains("panicked");
    match record.code {
        0 if clean => Outcome::Landed,
        // Promoting the version already in staging, or naming the version
        // the alias already names: a "no", judged on the remote's head.
        1 if clean && record.stderr.contains("nothing to do") => Outcome::Refused,
        2 if clean && record.stderr.contains("gave up after") => Outcome::GaveUp,
        _ => Outcome::Unexpected,
    }
}

// ---------------------------------------------------------------------------
// The checks on the remote's final state.

fn events_of(history: &Value) -> &[Value] {
    history.as_array().expect("history is a list")
}

fn field<'v>(event: &'v Value, key: &str) -> Option<&'v str> {
    event[key].as_str()
}

/// Every command that exited 0 has its commit and its event in the remote's
/// history, as it reported them; and every worker event in the history comes
/// from a command that exited 0.
fn assert_no_lost_or_phantom_event(successes: &[&Record], history: &Value) {
    let by_commit: BTreeMap<&str, &Value> = events_of(history)
        .iter()
        .map(|e| (field(e, "commit").expect("a commit"), e))
        .collect();
    let mut claimed = BTreeSet::new();
    for record in successes {
        let out = parse_json(record);
        let commit = out["commit"].as_str().expect("a commit");
        assert!(
            claimed.insert(commit.to_owned()),
            "two commands claim {commit}"
        );
        let Some(event) = by_commit.get(commit) else {
            panic!("lost: {commit} is not in the remote's history: {record:#?}");
        };
        assert_eq!(
            field(event, "event"),
            Some(record.kind.event()),
            "{record:#?}"
        );
        for key in ["event", "model", "version", "stage", "alias"] {
            assert_eq!(
                event[key], out["event"][key],
                "{key} of {commit}: {record:#?}"
            );
        }
        assert_eq!(
            field(event, "actor"),
            Some(format!("w{}", record.worker).as_str())
        );
        assert_eq!(field(event, "via"), Some("regent"));
    }
    // After the setup's events, every event (hand edits included: the
    // history reports those as `via: manual`) must be one a command claimed.
    let (setup, run) = events_of(history).split_at(SETUP_EVENTS);
    assert!(
        setup.iter().all(|e| field(e, "actor") == Some("tester")),
        "the setup's events come first: {setup:#?}"
    );
    let unclaimed: Vec<&Value> = run
        .iter()
        .filter(|e| !field(e, "commit").is_some_and(|c| claimed.contains(c)))
        .collect();
    assert!(
        unclaimed.is_empty(),
        "events no successful command claims: {unclaimed:#?}"
    );
}

/// A model's state as the history says it should be.
#[derive(Debug, Default, PartialEq, Eq)]
struct ModelState {
    /// Version number → the commit that registered it.
    versions: BTreeMap<u64, String>,
    stages: BTreeMap<String, u64>,
    aliases: BTreeMap<String, u64>,
    /// Stage → the commits that assigned it, in order (for `M#stage#n`).
    assignments: BTreeMap<String, Vec<String>>,
}

fn replay(history: &Value) -> BTreeMap<String, ModelState> {
    let mut models: BTreeMap<String, ModelState> = BTreeMap::new();
    for event in events_of(history) {
        let Some(model) = field(event, "model") else {
            continue;
        };
        let state = models.entry(model.to_owned()).or_default();
        let version = event["version"].as_u64();
        let commit = field(event, "commit").unwrap().to_owned();
        match field(event, "event").unwrap() {
            "register" => {
                let n = version.expect("a registered version");
                let previous = state.versions.insert(n, commit.clone());
                assert!(
                    previous.is_none(),
                    "{model} v{n} registered twice: {previous:?} and {commit}"
                );
            }
            "promote" | "rollback" => {
                let stage = field(event, "stage").unwrap().to_owned();
                state.stages.insert(stage.clone(), version.unwrap());
                state.assignments.entry(stage).or_default().push(commit);
            }
            "demote" => {
                state.stages.remove(field(event, "stage").unwrap());
            }
            "alias" => {
                let alias = field(event, "alias").unwrap().to_owned();
                match version {
                    Some(n) => state.aliases.insert(alias, n),
                    None => state.aliases.remove(&alias),
                };
            }
            other => panic!("the torture writes no {other} event: {event}"),
        }
    }
    models
}

/// Registrations of each model are numbered 1, 2, 3, … in history order.
fn assert_versions_dense_and_unique(history: &Value, models: &BTreeMap<String, ModelState>) {
    for (model, state) in models {
        let in_order: Vec<u64> = events_of(history)
            .iter()
            .filter(|e| field(e, "model") == Some(model) && field(e, "event") == Some("register"))
            .map(|e| e["version"].as_u64().unwrap())
            .collect();
        let dense: Vec<u64> = (1..=state.versions.len() as u64).collect();
        assert_eq!(in_order, dense, "{model}: registrations in history order");
    }
}

/// Each version's artifact is the one its registration gave: the
/// version number a command reported names its own artifact, and every
/// artifact registered by a successful command is there exactly once.
fn assert_artifacts_are_the_registered_ones(
    torture: &Torture,
    check: &Path,
    successes: &[&Record],
) {
    let mut expected: BTreeMap<(String, u64), String> = BTreeMap::new();
    for model in MODELS {
        for n in 1..=SEED_VERSIONS {
            expected.insert((model.to_owned(), n), seed_uri(model, n));
        }
    }
    for record in successes.iter().filter(|r| r.kind == Kind::Register) {
        let out = parse_json(record);
        let model = out["event"]["model"].as_str().unwrap().to_owned();
        let n = out["event"]["version"].as_u64().unwrap();
        let uri = record.args[3].clone();
        assert_eq!(record.args[1], model, "{record:#?}");
        let previous = expected.insert((model, n), uri);
        assert!(
            previous.is_none(),
            "two commands were given the same version: {record:#?}"
        );
    }
    let mut actual: BTreeMap<(String, u64), String> = BTreeMap::new();
    for model in MODELS {
        let shown = torture.json_in(check, &["show", model]);
        for version in shown["versions"].as_array().unwrap() {
            let n = version["version"].as_u64().unwrap();
            let uri = version["artifact"]["uri"].as_str().unwrap().to_owned();
            actual.insert((model.to_owned(), n), uri);
        }
    }
    assert_eq!(actual, expected, "versions and their artifacts");
}

/// `show --json` and the model files at HEAD say what the replay says.
fn assert_state_is_the_replay(
    torture: &Torture,
    check: &Path,
    models: &BTreeMap<String, ModelState>,
) {
    assert_eq!(
        models.keys().map(String::as_str).collect::<Vec<_>>(),
        MODELS.to_vec()
    );
    for (model, state) in models {
        let shown = torture.json_in(check, &["show", model]);
        assert_eq!(number_map(&shown["stages"]), state.stages, "{model} stages");
        assert_eq!(
            number_map(&shown["aliases"]),
            state.aliases,
            "{model} aliases"
        );
        for version in shown["versions"].as_array().unwrap() {
            let n = version["version"].as_u64().unwrap();
            let holding = |map: &BTreeMap<String, u64>| -> BTreeSet<String> {
                map.iter()
                    .filter(|(_, v)| **v == n)
                    .map(|(k, _)| k.clone())
                    .collect()
            };
            let listed = |key: &str| -> BTreeSet<String> {
                string_list(&version[key]).into_iter().collect()
            };
            assert_eq!(listed("stages"), holding(&state.stages), "{model} v{n}");
            assert_eq!(listed("aliases"), holding(&state.aliases), "{model} v{n}");
        }
        let file =
            std::fs::read_to_string(check.join(format!("models/{model}/model.yaml"))).unwrap();
        let yaml: serde_yaml::Value = serde_yaml::from_str(&file).unwrap();
        let yaml = serde_json::to_value(yaml).unwrap();
        assert_eq!(
            number_map(&yaml["stages"]),
            state.stages,
            "{model}/model.yaml"
        );
        assert_eq!(
            number_map(&yaml["aliases"]),
            state.aliases,
            "{model}/model.yaml"
        );
        let on_disk = std::fs::read_dir(check.join(format!("models/{model}/versions")))
            .unwrap()
            .count();
        assert_eq!(
            on_disk,
            state.versions.len(),
            "{model}: version files at HEAD"
        );
    }
}

fn number_map(value: &Value) -> BTreeMap<String, u64> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().expect("a version number")))
                .collect()
        })
        .unwrap_or_default()
}

/// The tags on the remote are exactly those the history calls for:
/// `M@vN` on the commit that registered vN, `M#stage#n` on the n-th
/// assignment of the stage, each an annotated tag; and each successful
/// command's tags are among them, on its commit.
fn assert_tags_consistent(torture: &Torture, history: &Value, successes: &[&Record]) {
    let listing = torture.env.git_in(
        &torture.origin,
        &[
            "for-each-ref",
            "refs/tags",
            "--format=%(refname:strip=2) %(objecttype) %(*objectname)",
        ],
    );
    let mut actual: BTreeMap<String, String> = BTreeMap::new();
    for line in listing.lines() {
        let mut parts = line.split(' ');
        let (name, kind, commit) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert_eq!(kind, "tag", "{name} is an annotated tag");
        actual.insert(name.to_owned(), commit.to_owned());
    }
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for (model, state) in replay(history) {
        for (n, commit) in state.versions {
            expected.insert(format!("{model}@v{n}"), commit);
        }
        for (stage, commits) in state.assignments {
            for (i, commit) in commits.into_iter().enumerate() {
                expected.insert(format!("{model}#{stage}#{}", i + 1), commit);
            }
        }
    }
    let wrong: Vec<String> = expected
        .keys()
        .chain(actual.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|name| expected.get(*name) != actual.get(*name))
        .map(|name| {
            format!(
                "{name}: history says {:?}, remote has {:?}",
                expected.get(name),
                actual.get(name)
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} inconsistent tags:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    for record in successes {
        let out = parse_json(record);
        for tag in string_list(&out["tags"]) {
            assert_eq!(
                actual.get(&tag).map(String::as_str),
                out["commit"].as_str(),
                "{tag}: {record:#?}"
            );
        }
    }
}

/// The remote's object store is sound, its branch a straight line of
/// single-parent commits (every event was rebuilt on the head it raced
/// for, never merged), and the registry validates.
fn assert_remote_sound(torture: &Torture, check: &Path) {
    torture.env.git_in(
        &torture.origin,
        &["fsck", "--strict", "--no-dangling", "--no-progress"],
    );
    let merges = torture
        .env
        .git_in(&torture.origin, &["rev-list", "--min-parents=2", "main"]);
    assert_eq!(merges, "", "merge commits on the remote's branch");
    let report = torture.json_in(check, &["validate"]);
    assert_eq!(report["ok"], json!(true), "{report}");
}

/// A worker's clone, whose history cache was filled a little at a time
/// during the run (one fetched head after another), gives the same history
/// as the fresh clone, which has no cache, once it has caught up.
fn assert_worker_clone_agrees(torture: &Torture, clone: &Path, history: &Value) {
    torture.env.git_in(clone, &["pull", "-q", "--ff-only"]);
    assert_eq!(&torture.json_in(clone, &["history"]), history);
}
