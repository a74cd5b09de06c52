//! What a new user sees on a first day's mistakes (issue 13), whole: each
//! test is a session of commands, and its snapshot in
//! `snapshots/transcripts/` holds every command with its exit code, stdout
//! and stderr, so that no message changes unnoticed. (tests/cli/everyday.rs
//! checks the same behaviours piece by piece.)
//!
//! After changing a message on purpose, rewrite the snapshots and read the
//! diff: `INSTA_UPDATE=always cargo test --test cli -- help:: transcripts::`.

use crate::common::TestEnv;
use crate::lifecycle::governed;

/// A session: the commands run so far, as a transcript.
struct Session<'a> {
    env: &'a TestEnv,
    text: String,
}

impl<'a> Session<'a> {
    fn new(env: &'a TestEnv) -> Session<'a> {
        Session {
            env,
            text: String::new(),
        }
    }

    /// Runs `regent ARGS`, asserts its exit code, and adds it to the transcript.
    fn run(&mut self, code: i32, args: &[&str]) -> &mut Self {
        let out = self.env.run(args);
        assert_eq!(
            out.code, code,
            "regent {args:?}:\n{}{}",
            out.stdout, out.stderr
        );
        let shown: Vec<String> = args.iter().map(|a| quoted(a)).collect();
        self.text += &format!("$ regent {}\nexit: {}\n", shown.join(" "), out.code);
        for (name, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            if !stream.is_empty() {
                // Temporary paths differ between runs.
                let stream = stream.replace(&self.env.root.display().to_string(), "[ROOT]");
                self.text += &format!("--- {name}\n{stream}");
                if !stream.ends_with('\n') {
                    self.text += "\n";
                }
            }
        }
        self.text += "\n";
        self
    }

    fn snapshot(&self, name: &str) {
        insta::with_settings!({
            snapshot_path => "snapshots/transcripts",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, self.text);
        });
    }
}

/// An argument as a shell would need it typed.
fn quoted(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c))
    {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Item 9: versions as regent prints them (`v2`) are taken everywhere, and
/// what is not a version says so.
#[test]
fn versions() {
    let env = governed();
    env.run_ok(&[
        "register",
        "churn",
        "--artifact",
        "s3://m/1",
        "--run",
        "churn-exp/r1",
    ]);
    env.run_ok(&[
        "register",
        "churn",
        "--artifact",
        "s3://m/3",
        "--run",
        "churn-exp/r3",
    ]);
    Session::new(&env)
        .run(0, &["promote", "churn", "v2", "--to", "staging"])
        .run(0, &["resolve", "models:/churn/v2"])
        .run(2, &["promote", "churn", "v0", "--to", "staging"])
        .run(2, &["promote", "churn", "v2.0", "--to", "staging"])
        .run(2, &["resolve", "models:/churn/v0"])
        .run(2, &["init", "--stages", "staging,v2", "sub"])
        .snapshot("versions");
}

/// Item 10: unknown models, stages, aliases, experiments and runs are a
/// "no" (exit 1) with the likely name.
#[test]
fn did_you_mean() {
    let env = governed();
    env.run_ok(&[
        "register",
        "bc-classifier",
        "--artifact",
        "s3://m/1",
        "--run",
        "churn-exp/r1",
    ]);
    env.run_ok(&["alias", "set", "bc-classifier", "candidate", "1"]);
    Session::new(&env)
        .run(1, &["history", "bc-clasifier"])
        .run(1, &["history", "--stage", "prodution"])
        .run(1, &["history", "zzz"])
        .run(1, &["show", "bc-clasifier"])
        .run(1, &["promote", "bc-clasifier", "1", "--to", "staging"])
        .run(1, &["promote", "bc-classifier", "1", "--to", "stagin"])
        .run(1, &["resolve", "models:/bc-classifier@candidat"])
        .run(1, &["run", "list", "churn-xp"])
        .run(1, &["run", "show", "churn-exp/r4"])
        .snapshot("did-you-mean");
}

/// Item 11: `--where` and `--sort` on a field no run has warn with the
/// likely one; `--sort` takes params.
#[test]
fn run_list_fields() {
    let env = TestEnv::with_registry();
    for (name, depth, acc) in [
        ("a", "10", "0.91"),
        ("b", "9", "0.85"),
        ("c", "100", "0.95"),
    ] {
        env.run_ok(&[
            "run",
            "log",
            "e",
            "--name",
            name,
            "--param",
            &format!("depth={depth}"),
            "--metric",
            &format!("accuracy={acc}"),
        ]);
    }
    Session::new(&env)
        .run(0, &["run", "list", "--where", "metircs.accuracy > 0.9"])
        // MLflow's spelling of the namespace, and its search syntax.
        .run(0, &["run", "list", "--where", "metric.accuracy > 0.9"])
        .run(
            2,
            &["run", "list", "--where", "attributes.stauts = 'FINISHED'"],
        )
        .run(0, &["run", "list", "--where", "params.dept == \"9\""])
        .run(0, &["run", "list", "--sort", "acuracy"])
        .run(0, &["run", "list", "--sort", "depth"])
        .run(2, &["run", "list", "--where", "metrics.accuracy >"])
        .snapshot("run-list-fields");
}

/// Items 13 and 14: times before the history, missing files, keys and
/// steps given twice, in plain words; nothing is written.
#[test]
fn times_and_run_inputs() {
    let env = TestEnv::with_registry();
    env.write(
        "h.json",
        r#"{"loss": [{"step": 1, "value": 0.5}, {"step": 1, "value": 0.4}]}"#,
    );
    env.commit_all("a history");
    let before = env.state();
    Session::new(&env)
        .run(2, &["show", "--at", "2001-01-01"])
        .run(2, &["run", "log", "e", "--metrics-file", "nope.json"])
        .run(2, &["run", "log", "e", "--params-file", "nope.yaml"])
        .run(
            2,
            &["run", "log", "e", "--metric", "a=1", "--metric", "a=2"],
        )
        .run(2, &["run", "log", "e", "--param", "p=x", "--param", "p=y"])
        .run(2, &["run", "log", "e", "--metrics-file", "h.json"])
        .run(2, &["run", "log", "e", "--start", "next tuesday-ish"])
        .snapshot("times-and-run-inputs");
    assert_eq!(env.state(), before, "nothing written");
}

/// Item 14: problems in files are in plain words, at one position, with
/// the likely key for a misspelt one.
#[test]
fn file_problems() {
    let env = TestEnv::with_registry();
    env.write(
        "regent.yaml",
        "registry: 1\nstages:\n- name: staging\n  aprovals: 1\n  gates:\n  - {metric: accuracy}\n- name: Prod\naliases:\n  Champ: {approvals: 1}\n",
    );
    env.write("models/m/model.yaml", "name: m\nstage: {}\n");
    let mut session = Session::new(&env);
    session.run(1, &["validate"]);
    env.write("regent.yaml", "registry: 1\nstages:\n- name: [x\n");
    env.write("models/m/model.yaml", "name: m\nname: n\n");
    session.run(1, &["validate"]).snapshot("file-problems");
}
