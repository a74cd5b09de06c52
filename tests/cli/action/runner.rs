//! A fake runner for action.yml: reads the file as the runner does, runs
//! each step's script with bash in a test repository, substitutes the
//! `${{ }}` expressions of `env:` and `outputs:`, and reads back the outputs.

use crate::common::TestEnv;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(super) const VERSION: &str = env!("CARGO_PKG_VERSION");
pub(super) const TOKEN: &str = "ghs_test_token_0123456789";
pub(super) const ALLOWED: &str =
    "check, publish, promote, rollback, register, show, resolve, history, validate, diff, ui";

pub(super) fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(super) fn regent_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("regent")
}

// ---------------------------------------------------------------------------
// action.yml, read as the runner reads it

pub(super) struct Action {
    /// Input name and default (which may hold expressions).
    pub(super) inputs: Vec<(String, Option<String>)>,
    /// Output name and its `value:` expression.
    pub(super) outputs: Vec<(String, String)>,
    pub(super) steps: Vec<Step>,
}

pub(super) struct Step {
    pub(super) id: String,
    /// `if:`, an expression without `${{ }}`.
    pub(super) condition: Option<String>,
    /// `uses:` (an action run by the runner) instead of `run:` (a script).
    pub(super) uses: Option<String>,
    pub(super) with: Vec<(String, String)>,
    pub(super) shell: Option<String>,
    pub(super) run: String,
    pub(super) env: Vec<(String, String)>,
}

pub(super) fn load_action(dir: &Path) -> Action {
    let path = dir.join("action.yml");
    let text = std::fs::read_to_string(&path).expect("action.yml is readable");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("action.yml is YAML");
    let string = |v: &serde_yaml::Value| -> String {
        match v {
            serde_yaml::Value::String(s) => s.clone(),
            serde_yaml::Value::Bool(b) => b.to_string(),
            serde_yaml::Value::Number(n) => n.to_string(),
            other => panic!("expected a scalar, got {other:?}"),
        }
    };
    let inputs = doc["inputs"]
        .as_mapping()
        .expect("inputs")
        .iter()
        .map(|(k, v)| (string(k), v.get("default").map(string)))
        .collect();
    let outputs = doc["outputs"]
        .as_mapping()
        .expect("outputs")
        .iter()
        .map(|(k, v)| (string(k), string(&v["value"])))
        .collect();
    assert_eq!(doc["runs"]["using"].as_str(), Some("composite"));
    let steps = doc["runs"]["steps"]
        .as_sequence()
        .expect("runs.steps")
        .iter()
        .map(|s| {
            let map = |key: &str| -> Vec<(String, String)> {
                s.get(key)
                    .and_then(|e| e.as_mapping())
                    .map(|m| m.iter().map(|(k, v)| (string(k), string(v))).collect())
                    .unwrap_or_default()
            };
            Step {
                id: string(&s["id"]),
                condition: s.get("if").map(string),
                uses: s.get("uses").map(string),
                with: map("with"),
                shell: s.get("shell").map(string),
                run: s.get("run").map(string).unwrap_or_default(),
                env: map("env"),
            }
        })
        .collect();
    Action {
        inputs,
        outputs,
        steps,
    }
}

/// `name=value` lines and `name<<DELIMITER` blocks, as the runner reads them.
pub(super) fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let heredoc = line
            .split_once("<<")
            .filter(|(name, _)| !name.contains('='));
        if let Some((name, delimiter)) = heredoc {
            let mut value = Vec::new();
            loop {
                let next = lines
                    .next()
                    .unwrap_or_else(|| panic!("output {name}: no closing {delimiter}"));
                if next == delimiter {
                    break;
                }
                value.push(next);
            }
            out.insert(name.to_owned(), value.join("\n"));
        } else {
            let (name, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("not an output line: {line:?}"));
            out.insert(name.to_owned(), value.to_owned());
        }
    }
    out
}

// ---------------------------------------------------------------------------
// A fake runner

#[derive(Debug)]
pub(super) struct StepRun {
    pub(super) id: String,
    pub(super) code: i32,
    pub(super) stdout: String,
    pub(super) stderr: String,
    pub(super) outputs: BTreeMap<String, String>,
    pub(super) summary: String,
}

impl StepRun {
    pub(super) fn log(&self) -> String {
        format!(
            "step {} exited {}\n--- stdout\n{}\n--- stderr\n{}",
            self.id, self.code, self.stdout, self.stderr
        )
    }
}

#[derive(Debug)]
pub(super) struct ActionRun {
    pub(super) steps: Vec<StepRun>,
    /// The action's outputs, from its `outputs:` mapping.
    pub(super) outputs: BTreeMap<String, String>,
}

impl ActionRun {
    pub(super) fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.code == 0)
    }

    pub(super) fn step(&self, id: &str) -> &StepRun {
        self.steps
            .iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("step {id} did not run:\n{}", self.log()))
    }

    pub(super) fn failed(&self) -> &StepRun {
        self.steps
            .iter()
            .find(|s| s.code != 0)
            .unwrap_or_else(|| panic!("no step failed:\n{}", self.log()))
    }

    pub(super) fn log(&self) -> String {
        self.steps
            .iter()
            .map(StepRun::log)
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub(super) fn assert_ok(&self) -> &Self {
        assert!(self.ok(), "the action failed:\n{}", self.log());
        self
    }
}

pub(super) struct Runner<'a> {
    pub(super) env: &'a TestEnv,
    /// The action's folder (GITHUB_ACTION_PATH).
    pub(super) action_path: PathBuf,
    pub(super) inputs: BTreeMap<String, String>,
    pub(super) vars: Vec<(String, String)>,
    pub(super) action_ref: String,
    pub(super) runner_os: String,
    pub(super) runner_arch: String,
    /// Where RUNNER_TEMP, the output files, the event and fake tools live.
    pub(super) work: PathBuf,
    /// Whether REGENT_BIN is set to the test binary.
    pub(super) use_test_binary: bool,
    /// Whether the system's Rust (cargo, rustc, rustup) is left off PATH,
    /// as on a runner without Rust.
    pub(super) hide_rust: bool,
    /// The Actions cache: what `actions/cache/save` stored, by key, kept
    /// between runs (jobs) of this environment.
    pub(super) cache: PathBuf,
}

impl<'a> Runner<'a> {
    pub(super) fn new(env: &'a TestEnv, command: &str) -> Runner<'a> {
        let work = env.root.join("runner");
        std::fs::create_dir_all(work.join("temp")).unwrap();
        std::fs::create_dir_all(work.join("bin")).unwrap();
        let mut runner = Runner {
            env,
            action_path: manifest_dir(),
            inputs: BTreeMap::new(),
            vars: Vec::new(),
            action_ref: String::new(),
            runner_os: "Linux".into(),
            runner_arch: "X64".into(),
            work,
            use_test_binary: true,
            hide_rust: false,
            cache: env.root.join("actions-cache"),
        };
        runner.input("command", command);
        runner
    }

    pub(super) fn input(&mut self, name: &str, value: &str) -> &mut Self {
        self.inputs.insert(name.to_owned(), value.to_owned());
        self
    }

    pub(super) fn var(&mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        let value = value.as_ref().to_string_lossy().into_owned();
        self.vars.push((name.to_owned(), value));
        self
    }

    /// A `name` in the runner's `bin` folder, first on PATH.
    pub(super) fn tool(&self, name: &str, script: &str) {
        let path = self.work.join("bin").join(name);
        std::fs::write(&path, script).unwrap();
        make_executable(&path);
    }

    /// PATH: the fake tools, then the system's, without any other `regent`.
    fn path(&self) -> std::ffi::OsString {
        let system = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![self.work.join("bin")];
        let rust = ["cargo", "rustc", "rustup"];
        let hidden = |d: &Path| {
            d.join("regent").exists() || (self.hide_rust && rust.iter().any(|t| d.join(t).exists()))
        };
        dirs.extend(std::env::split_paths(&system).filter(|d| !hidden(d)));
        std::env::join_paths(dirs).unwrap()
    }

    /// `${{ expr }}` as the runner evaluates the few this action uses; an
    /// unknown one fails the test, so a new expression is a conscious change.
    fn expand(
        &self,
        text: &str,
        action: &Action,
        steps: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find("}}")
                .unwrap_or_else(|| panic!("unclosed expression in {text:?}"))
                + start;
            let expr = rest[start + 3..end].trim();
            out.push_str(&self.evaluate(expr, action, steps));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    fn evaluate(
        &self,
        expr: &str,
        action: &Action,
        steps: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> String {
        if let Some(name) = expr.strip_prefix("inputs.") {
            let (_, default) = action
                .inputs
                .iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("action.yml reads undeclared input {name}"));
            return match self.inputs.get(name) {
                Some(value) => value.clone(),
                None => self.expand(default.as_deref().unwrap_or(""), action, steps),
            };
        }
        if let Some((left, right)) = expr.split_once("||") {
            let left = self.evaluate(left.trim(), action, steps);
            return if left.is_empty() {
                self.evaluate(right.trim(), action, steps)
            } else {
                left
            };
        }
        if let Some(path) = expr.strip_prefix("steps.") {
            let (id, name) = path
                .split_once(".outputs.")
                .unwrap_or_else(|| panic!("unknown expression {expr}"));
            return steps
                .get(id)
                .and_then(|o| o.get(name))
                .cloned()
                .unwrap_or_default();
        }
        match expr {
            "github.token" => TOKEN.to_owned(),
            "github.action_ref" => self.action_ref.clone(),
            // Empty in composite actions at times (actions/runner#2473).
            "github.action_repository" => String::new(),
            "github.repository" => "acme/ml".to_owned(),
            other => panic!("action.yml uses ${{{{ {other} }}}}, which this test does not know"),
        }
    }

    pub(super) fn run(&self) -> ActionRun {
        let action = load_action(&self.action_path);
        let event = self.work.join("event.json");
        std::fs::write(
            &event,
            r#"{"pull_request": {"number": 7, "base": {"ref": "main"}}, "repository": {"full_name": "acme/ml"}}"#,
        )
        .unwrap();
        let mut step_outputs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut runs = Vec::new();
        for (n, step) in action.steps.iter().enumerate() {
            if let Some(condition) = &step.condition
                && !self.condition(condition, &action, &step_outputs)
            {
                continue;
            }
            if let Some(uses) = &step.uses {
                let with: BTreeMap<String, String> = step
                    .with
                    .iter()
                    .map(|(k, v)| (k.clone(), self.expand(v, &action, &step_outputs)))
                    .collect();
                let outputs = self.cache_action(uses, &with);
                step_outputs.insert(step.id.clone(), outputs);
                continue;
            }
            let output_file = self.work.join(format!("output-{n}"));
            let summary_file = self.work.join(format!("summary-{n}"));
            std::fs::write(&output_file, "").unwrap();
            std::fs::write(&summary_file, "").unwrap();
            let script = self.work.join(format!("step-{n}.sh"));
            std::fs::write(&script, &step.run).unwrap();

            let mut cmd = std::process::Command::new("bash");
            cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&script)
                .current_dir(&self.env.repo)
                .env_clear();
            for (key, value) in self.env.env_vars() {
                cmd.env(key, value);
            }
            cmd.env("PATH", self.path())
                .env("GITHUB_ACTIONS", "true")
                .env("CI", "true")
                .env("GITHUB_OUTPUT", &output_file)
                .env("GITHUB_STEP_SUMMARY", &summary_file)
                .env("GITHUB_EVENT_PATH", &event)
                .env("GITHUB_EVENT_NAME", "pull_request")
                .env("GITHUB_ACTION_PATH", &self.action_path)
                .env("GITHUB_WORKSPACE", &self.env.repo)
                .env("GITHUB_REPOSITORY", "acme/ml")
                .env("GITHUB_SERVER_URL", "https://github.invalid")
                // Nothing listens there: a command that calls the API fails fast.
                .env("GITHUB_API_URL", "http://127.0.0.1:9")
                .env("RUNNER_OS", &self.runner_os)
                .env("RUNNER_ARCH", &self.runner_arch)
                .env("RUNNER_TEMP", self.work.join("temp"));
            if self.use_test_binary {
                cmd.env("REGENT_BIN", regent_bin());
            }
            for (key, value) in &self.vars {
                cmd.env(key, value);
            }
            for (key, value) in &step.env {
                cmd.env(key, self.expand(value, &action, &step_outputs));
            }
            let out = cmd.output().expect("bash runs");
            let outputs = parse_outputs(&std::fs::read_to_string(&output_file).unwrap());
            step_outputs.insert(step.id.clone(), outputs.clone());
            let run = StepRun {
                id: step.id.clone(),
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                outputs,
                summary: std::fs::read_to_string(&summary_file).unwrap(),
            };
            let failed = run.code != 0;
            runs.push(run);
            if failed {
                break;
            }
        }
        let outputs = action
            .outputs
            .iter()
            .map(|(name, value)| (name.clone(), self.expand(value, &action, &step_outputs)))
            .filter(|(_, value)| !value.is_empty())
            .collect();
        ActionRun {
            steps: runs,
            outputs,
        }
    }
}

impl Runner<'_> {
    /// An `if:` as this action writes them: `steps.X.outputs.Y == 'value'`.
    fn condition(
        &self,
        condition: &str,
        action: &Action,
        steps: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> bool {
        let (left, right) = condition.split_once("==").unwrap_or_else(|| {
            panic!("action.yml has an if: this test does not know: {condition}")
        });
        let right = right.trim();
        let literal = right
            .strip_prefix('\'')
            .and_then(|r| r.strip_suffix('\''))
            .unwrap_or_else(|| panic!("not a quoted literal in if: {condition}"));
        self.evaluate(left.trim(), action, steps) == literal
    }

    /// `actions/cache/restore` and `actions/cache/save` as the runner runs
    /// them: the folder at `path` copied from or to this environment's
    /// cache under `key` (symbolic links kept, as the cache's tar keeps them).
    fn cache_action(
        &self,
        uses: &str,
        with: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let path = PathBuf::from(&with["path"]);
        let stored = self.cache.join(&with["key"]);
        let copy = |from: &Path, to: &Path| {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            let status = std::process::Command::new("cp")
                .arg("-a")
                .arg(from)
                .arg(to)
                .status()
                .unwrap();
            assert!(
                status.success(),
                "cp -a {} {}",
                from.display(),
                to.display()
            );
        };
        let mut outputs = BTreeMap::new();
        match uses {
            "actions/cache/restore@v4" => {
                let hit = stored.exists();
                if hit {
                    copy(&stored, &path);
                }
                outputs.insert("cache-hit".to_owned(), hit.to_string());
            }
            "actions/cache/save@v4" => {
                // The cache is immutable: a key saved once stays as it was.
                if !stored.exists() {
                    copy(&path, &stored);
                }
            }
            other => panic!("action.yml uses {other}, which this test does not know"),
        }
        outputs
    }
}

#[cfg(unix)]
pub(super) fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
