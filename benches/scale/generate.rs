//! Generates a registry with a realistic history in one `git fast-import`
//! stream: for every version of every model, a run, a registration and a
//! promotion to staging (one commit each), every tenth version also promoted
//! to production, models interleaved as teams would work, plus the tags
//! regent makes and a pull-request branch that changes one model.

use regent::registry::{
    Config, Gate, Layout, MetricPoint, ModelFile, RunFile, RunSource, RunStatus, VersionArtifact,
    VersionFile, VersionStatus, to_yaml,
};
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// The shape of a generated registry.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub models: u64,
    pub versions_per_model: u64,
}

impl Shape {
    pub fn versions(&self) -> u64 {
        self.models * self.versions_per_model
    }
}

/// What the measurements need to know about the generated registry.
#[derive(Debug, Clone)]
pub struct Generated {
    pub commits: u64,
    /// A model, its versions, the version in production and one not in staging.
    pub model: String,
    /// The version now in production of that model (before the PR).
    pub production: u64,
    pub promotable: u64,
}

struct Stream<W: Write> {
    out: W,
    mark: u64,
    time: i64,
}

impl<W: Write> Stream<W> {
    fn data(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        writeln!(self.out, "data {}", bytes.len())?;
        self.out.write_all(bytes)?;
        writeln!(self.out)
    }

    /// One commit on `branch` with `files` (path, content) and trailers.
    fn commit(
        &mut self,
        branch: &str,
        subject: &str,
        trailers: &[(&str, String)],
        files: &[(String, String)],
    ) -> std::io::Result<u64> {
        self.mark += 1;
        self.time += 60;
        let mark = self.mark;
        writeln!(self.out, "commit refs/heads/{branch}")?;
        writeln!(self.out, "mark :{mark}")?;
        writeln!(
            self.out,
            "author Bench <bench@example.com> {} +0000",
            self.time
        )?;
        writeln!(
            self.out,
            "committer Bench <bench@example.com> {} +0000",
            self.time
        )?;
        let mut message = format!("{subject}\n\n");
        for (k, v) in trailers {
            message.push_str(&format!("{k}: {v}\n"));
        }
        self.data(message.as_bytes())?;
        if mark > 1 {
            writeln!(self.out, "from :{}", mark - 1)?;
        }
        for (path, content) in files {
            writeln!(self.out, "M 100644 inline {path}")?;
            self.data(content.as_bytes())?;
        }
        writeln!(self.out)?;
        Ok(mark)
    }

    fn tag(&mut self, name: &str, mark: u64) -> std::io::Result<()> {
        writeln!(self.out, "reset refs/tags/{name}\nfrom :{mark}\n")
    }
}

fn timestamp(seconds: i64) -> String {
    regent::time::format(jiff::Timestamp::from_second(seconds).unwrap_or_default())
}

/// A deterministic accuracy in [0.80, 0.99] for a version.
fn accuracy(model: u64, version: u64) -> f64 {
    let x = (model * 7919 + version * 104_729) % 1000;
    0.80 + (x as f64) / 1000.0 * 0.19
}

fn config() -> Config {
    let mut config = Config::new(&["staging".into(), "production".into()]);
    let production = &mut config.stages[1];
    production.requires = vec!["staging".into()];
    production.gates = vec![Gate {
        metric: "accuracy".into(),
        min: Some(0.5),
        ..Gate::default()
    }];
    config
}

/// Writes the repository at `dir` (a new non-bare repository on `main`).
pub fn generate(dir: &Path, shape: Shape) -> std::io::Result<Generated> {
    let git = |args: &[&str]| Command::new("git").arg("-C").arg(dir).args(args).status();
    git(&["init", "-q", "-b", "main"])?;
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fast-import", "--quiet", "--done"])
        .stdin(Stdio::piped())
        .spawn()?;
    let stdin = child.stdin.take().expect("piped stdin");
    let mut s = Stream {
        out: BufWriter::with_capacity(1 << 20, stdin),
        mark: 0,
        time: 1_700_000_000,
    };

    let yaml = |schema: &str, value: &dyn erased::Yaml| value.yaml(schema);
    s.commit(
        "main",
        "init regent registry",
        &[
            ("Regent-Event", "init".into()),
            ("Regent-Actor", "bench".into()),
        ],
        &[
            ("regent.yaml".into(), yaml("regent", &config())),
            ("models/.gitkeep".into(), String::new()),
            ("experiments/.gitkeep".into(), String::new()),
        ],
    )?;
    let mut models: Vec<ModelFile> = (0..shape.models)
        .map(|i| ModelFile {
            name: format!("m-{i}"),
            created_at: Some(timestamp(s.time)),
            ..ModelFile::default()
        })
        .collect();
    let mut assignments: BTreeMap<(u64, &str), u64> = BTreeMap::new();
    let mut pr_base = 0;
    for v in 1..=shape.versions_per_model {
        for i in 0..shape.models {
            let name = format!("m-{i}");
            let experiment = format!("exp-{i}");
            let run_name = format!("run-{v}");
            let acc = accuracy(i, v);
            let run = RunFile {
                name: run_name.clone(),
                experiment: experiment.clone(),
                status: RunStatus::Finished,
                start_time: timestamp(s.time),
                end_time: Some(timestamp(s.time + 30)),
                user: "bench".into(),
                source: Some(RunSource {
                    commit: Some("0".repeat(40)),
                    branch: Some("main".into()),
                    ..RunSource::default()
                }),
                params: [
                    ("lr".to_owned(), format!("{}", 0.001 * (v % 10 + 1) as f64)),
                    ("optimizer".to_owned(), "adam".to_owned()),
                ]
                .into(),
                metrics: [("accuracy".to_owned(), acc), ("loss".to_owned(), 1.0 - acc)].into(),
                history: BTreeMap::new(),
                series: BTreeMap::new(),
                artifacts: Vec::new(),
                environment: None,
                tags: BTreeMap::new(),
                note: None,
                extensions: Default::default(),
            };
            s.commit(
                "main",
                &format!("log run {experiment}/{run_name}"),
                &[
                    ("Regent-Event", "run".into()),
                    ("Regent-Experiment", experiment.clone()),
                    ("Regent-Run", run_name.clone()),
                    ("Regent-Actor", "bench".into()),
                ],
                &[(Layout::run(&experiment, &run_name), yaml("run", &run))],
            )?;
            let version = VersionFile {
                model: name.clone(),
                version: v,
                created_at: timestamp(s.time),
                created_by: "bench".into(),
                run: Some(format!("{experiment}/{run_name}")),
                source_commit: Some("0".repeat(40)),
                artifact: VersionArtifact {
                    uri: format!("s3://bench/{name}/{v}/model.pkl"),
                    digest: Some(format!("sha256:{}", "ab".repeat(32))),
                    size: Some(1_048_576),
                    ..VersionArtifact::default()
                },
                metrics: run.metrics.clone(),
                params: run.params.clone(),
                description: None,
                tags: BTreeMap::new(),
                status: VersionStatus::Active,
                status_reason: None,
                extensions: Default::default(),
            };
            let mut files = vec![(
                format!("models/{name}/versions/{v}.yaml"),
                yaml("version", &version),
            )];
            if v == 1 {
                files.push((
                    format!("models/{name}/model.yaml"),
                    yaml("model", &models[i as usize]),
                ));
            }
            let mark = s.commit(
                "main",
                &format!("register {name} v{v}"),
                &[
                    ("Regent-Event", "register".into()),
                    ("Regent-Model", name.clone()),
                    ("Regent-Version", v.to_string()),
                    ("Regent-Actor", "bench".into()),
                ],
                &files,
            )?;
            s.tag(&format!("{name}@v{v}"), mark)?;
            let mut stages = vec!["staging"];
            if v % 10 == 0 {
                stages.push("production");
            }
            for stage in stages {
                let model = &mut models[i as usize];
                let previous = model.stages.insert(stage.to_owned(), v);
                let mut trailers = vec![
                    ("Regent-Event", "promote".to_owned()),
                    ("Regent-Model", name.clone()),
                    ("Regent-Version", v.to_string()),
                    ("Regent-Stage", stage.to_owned()),
                ];
                if let Some(p) = previous {
                    trailers.push(("Regent-Previous", p.to_string()));
                }
                trailers.push(("Regent-Actor", "bench".into()));
                let mark = s.commit(
                    "main",
                    &format!("promote {name} v{v} to {stage}"),
                    &trailers,
                    &[(format!("models/{name}/model.yaml"), yaml("model", &*model))],
                )?;
                let n = assignments.entry((i, stage)).or_default();
                *n += 1;
                s.tag(&format!("{name}#{stage}#{n}"), mark)?;
                pr_base = mark;
            }
        }
    }
    // A pull request that changes one model: m-3's latest version to production.
    let target = 3 % shape.models;
    let model = &mut models[target as usize];
    // The newest version is in production already; the one before it has
    // been in staging, so the policy (requires: [staging]) allows it.
    let latest = shape.versions_per_model.saturating_sub(1).max(1);
    let production = model.stages.get("production").copied().unwrap_or(0);
    model.stages.insert("production".into(), latest);
    let name = model.name.clone();
    let pr_model = yaml("model", &*model);
    writeln!(s.out, "reset refs/heads/pr\nfrom :{pr_base}\n")?;
    s.mark += 1;
    s.time += 60;
    writeln!(
        s.out,
        "commit refs/heads/pr\nmark :{}\nauthor Bench <bench@example.com> {} +0000\ncommitter Bench <bench@example.com> {} +0000",
        s.mark, s.time, s.time
    )?;
    s.data(format!("promote {name} v{latest} to production").as_bytes())?;
    writeln!(
        s.out,
        "from :{pr_base}\nM 100644 inline models/{name}/model.yaml"
    )?;
    s.data(pr_model.as_bytes())?;
    writeln!(s.out, "\ndone")?;
    s.out.flush()?;
    drop(s);
    let status = child.wait()?;
    if !status.success() {
        return Err(std::io::Error::other("git fast-import failed"));
    }
    git(&["checkout", "-q", "-f", "main"])?;
    git(&["config", "user.name", "Bench"])?;
    git(&["config", "user.email", "bench@example.com"])?;
    let commits = 1
        + shape.versions() * 2
        + shape.models * shape.versions_per_model
        + shape.models * (shape.versions_per_model / 10);
    Ok(Generated {
        commits,
        model: "m-7".replace('7', &(7 % shape.models).to_string()),
        production,
        promotable: shape.versions_per_model.saturating_sub(1).max(1),
    })
}

/// One experiment of `runs` runs, each logged in its own commit with the
/// trailers `regent run log` writes, and `steps` steps of history for each
/// of its two metrics (0 for none). Returns the number of commits.
pub fn generate_experiment(dir: &Path, runs: u64, steps: u64) -> std::io::Result<u64> {
    let git = |args: &[&str]| Command::new("git").arg("-C").arg(dir).args(args).status();
    git(&["init", "-q", "-b", "main"])?;
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fast-import", "--quiet", "--done"])
        .stdin(Stdio::piped())
        .spawn()?;
    let stdin = child.stdin.take().expect("piped stdin");
    let mut s = Stream {
        out: BufWriter::with_capacity(1 << 20, stdin),
        mark: 0,
        time: 1_700_000_000,
    };
    s.commit(
        "main",
        "init regent registry",
        &[
            ("Regent-Event", "init".into()),
            ("Regent-Actor", "bench".into()),
        ],
        &[
            (
                "regent.yaml".into(),
                erased::Yaml::yaml(&config(), "regent"),
            ),
            ("models/.gitkeep".into(), String::new()),
            ("experiments/.gitkeep".into(), String::new()),
        ],
    )?;
    let experiment = "exp";
    for r in 0..runs {
        let name = format!("run-{r:06}");
        let acc = accuracy(r % 100, r / 100 + 1);
        let curve = |end: f64| -> Vec<MetricPoint> {
            (0..steps)
                .map(|step| MetricPoint {
                    step,
                    value: end + (1.0 - end) / (step + 1) as f64,
                    timestamp: None,
                })
                .collect()
        };
        let history: BTreeMap<String, Vec<MetricPoint>> = if steps == 0 {
            BTreeMap::new()
        } else {
            [
                ("accuracy".to_owned(), curve(acc)),
                ("loss".to_owned(), curve(1.0 - acc)),
            ]
            .into()
        };
        let run = RunFile {
            name: name.clone(),
            experiment: experiment.to_owned(),
            status: RunStatus::Finished,
            start_time: timestamp(s.time),
            end_time: Some(timestamp(s.time + 30)),
            user: "bench".into(),
            source: Some(RunSource {
                commit: Some("0".repeat(40)),
                branch: Some("main".into()),
                ..RunSource::default()
            }),
            params: [
                ("lr".to_owned(), format!("{}", 0.001 * (r % 10 + 1) as f64)),
                ("optimizer".to_owned(), "adam".to_owned()),
            ]
            .into(),
            metrics: [("accuracy".to_owned(), acc), ("loss".to_owned(), 1.0 - acc)].into(),
            history,
            series: BTreeMap::new(),
            artifacts: Vec::new(),
            environment: None,
            tags: BTreeMap::new(),
            note: None,
            extensions: Default::default(),
        };
        s.commit(
            "main",
            &format!("log run {experiment}/{name}"),
            &[
                ("Regent-Event", "run".into()),
                ("Regent-Experiment", experiment.to_owned()),
                ("Regent-Run", name.clone()),
                ("Regent-Actor", "bench".into()),
            ],
            &[(
                Layout::run(experiment, &name),
                erased::Yaml::yaml(&run, "run"),
            )],
        )?;
    }
    writeln!(s.out, "done")?;
    s.out.flush()?;
    drop(s);
    let status = child.wait()?;
    if !status.success() {
        return Err(std::io::Error::other("git fast-import failed"));
    }
    git(&["checkout", "-q", "-f", "main"])?;
    git(&["config", "user.name", "Bench"])?;
    git(&["config", "user.email", "bench@example.com"])?;
    Ok(runs + 1)
}

/// Serialising any registry type through one small trait object.
mod erased {
    pub trait Yaml {
        fn yaml(&self, schema: &str) -> String;
    }
    impl<T: serde::Serialize> Yaml for T {
        fn yaml(&self, schema: &str) -> String {
            super::to_yaml(schema, self).expect("registry types serialise")
        }
    }
}
