//! regent's scale benchmark: generates registries of 1k, 10k (and, on
//! request, 100k) versions with a realistic history and times the commands
//! users and CI run, beside the raw Git work that bounds them.
//!
//!     cargo bench --bench scale                         # 1k and 10k versions
//!     cargo bench --bench scale -- --sizes 1000,10000,100000 --runs 5
//!     cargo bench --bench scale -- --sizes none --experiment 5000,10000,20000,50000 --runs 3
//!     cargo bench --bench scale -- --sizes none --experiment 2000 --steps 1000
//!
//! `--experiment N,…` generates one experiment of N runs, each its own
//! `run log` commit (`--steps S`: S history steps per metric and run), and
//! times `run list` and a cold `history` over it.
//!
//! Timings are medians of warm whole-process runs of the release binary.

mod generate;
mod measure;

use generate::{Shape, generate, generate_experiment};
use measure::{Case, format, median, peak_memory_mib};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A row of the results table.
struct Row {
    command: String,
    regent: Duration,
    git: Option<(String, Duration)>,
    target: Option<Duration>,
}

fn main() {
    let mut sizes = vec![1_000u64, 10_000];
    let mut experiments: Vec<u64> = Vec::new();
    let mut steps = 0u64;
    let mut runs = 5usize;
    let mut keep: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sizes" => sizes = numbers(&args.next().expect("--sizes N,N")),
            "--experiment" => experiments = numbers(&args.next().expect("--experiment N,N")),
            "--steps" => steps = args.next().expect("--steps N").parse().expect("a number"),
            "--runs" => runs = args.next().expect("--runs N").parse().expect("a number"),
            // Keep the generated registries under DIR (for profiling).
            "--keep" => keep = Some(PathBuf::from(args.next().expect("--keep DIR"))),
            // cargo bench passes --bench; ignore what is not ours.
            _ => {}
        }
    }
    let regent = PathBuf::from(env!("CARGO_BIN_EXE_regent"));
    let git = which("git");
    println!("# regent scale benchmark\n");
    println!("{}\n", machine());
    for versions in sizes {
        let models = 100.min(versions);
        let shape = Shape {
            models,
            versions_per_model: versions / models,
        };
        let dir = tempfile::tempdir().expect("a temporary folder");
        let repo = match &keep {
            Some(base) => base.join(format!("registry-{versions}")),
            None => dir.path().join("registry"),
        };
        std::fs::create_dir_all(&repo).unwrap();
        let start = Instant::now();
        let generated = generate(&repo, shape).expect("generating the registry");
        let took = start.elapsed();
        println!(
            "## {} versions ({} models × {}), {} commits — generated in {}\n",
            shape.versions(),
            shape.models,
            shape.versions_per_model,
            generated.commits,
            format(took)
        );
        println!(
            "(m-{} is in production at v{} before the pull request)\n",
            3 % shape.models,
            generated.production
        );
        let rows = measure_all(&repo, &regent, &git, &generated, runs);
        print_table(&rows, shape.versions() == 10_000);
        let validate_args = vec!["validate".to_owned()];
        if let Some(mib) = peak_memory_mib(&repo, &regent, &validate_args) {
            println!("\n`validate` peak memory: {mib:.0} MiB\n");
        }
    }
    if !experiments.is_empty() {
        measure_experiments(&experiments, steps, runs, &regent, keep.as_deref());
    }
}

/// `1000,10000` (or `none`) as numbers.
fn numbers(list: &str) -> Vec<u64> {
    if list == "none" {
        return Vec::new();
    }
    list.split(',')
        .map(|n| n.trim().parse().expect("a number"))
        .collect()
}

/// One experiment of N runs, each its own `run log` commit: `run list` and a
/// cold `history` must cost time linear in N.
fn measure_experiments(sizes: &[u64], steps: u64, runs: usize, regent: &Path, keep: Option<&Path>) {
    println!(
        "## One experiment, one `run log` commit per run ({steps} history steps per metric)\n"
    );
    println!(
        "| runs | generated | `run list --sort accuracy` | per run | `run list` peak | `history` (cold) | per run | `git log -- experiments` | `ui build` (warm) | per run |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let git = which("git");
    for &n in sizes {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let repo = match keep {
            Some(base) => base.join(format!("experiment-{n}-{steps}")),
            None => dir.path().join("registry"),
        };
        std::fs::create_dir_all(&repo).unwrap();
        let start = Instant::now();
        generate_experiment(&repo, n, steps).expect("generating the experiment");
        let generated = start.elapsed();
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<String>>();
        let list_args = s(&["run", "list", "exp", "--sort", "accuracy", "--limit", "10"]);
        let list = median(
            &repo,
            &Case {
                program: regent,
                args: list_args.clone(),
                reset: None,
                stdin: None,
            },
            runs,
        );
        let peak = peak_memory_mib(&repo, regent, &list_args)
            .map_or_else(String::new, |mib| format!("{mib:.0} MiB"));
        let drop_cache = || {
            let _ = std::fs::remove_dir_all(repo.join(".git/regent/history-v1"));
        };
        let history = median(
            &repo,
            &Case {
                program: regent,
                args: s(&["history", "--json"]),
                reset: Some(&drop_cache),
                stdin: None,
            },
            runs,
        );
        let raw = median(
            &repo,
            &Case {
                program: &git,
                args: s(&["log", "--format=%H", "--", "experiments"]),
                reset: None,
                stdin: None,
            },
            runs,
        );
        // The web UI as a static site (a page per run), the history cache
        // warm from the `history` runs above.
        let site = repo.join(".git/bench-ui").to_string_lossy().into_owned();
        let ui = median(
            &repo,
            &Case {
                program: regent,
                args: s(&["ui", "build", &site]),
                reset: None,
                stdin: None,
            },
            runs,
        );
        let per_run = |d: Duration| format!("{:.1} µs", d.as_secs_f64() * 1e6 / n as f64);
        println!(
            "| {n} | {} | {} | {} | {peak} | {} | {} | {} | {} | {} |",
            format(generated),
            format(list),
            per_run(list),
            format(history),
            per_run(history),
            format(raw),
            format(ui),
            per_run(ui)
        );
    }
    println!();
}

fn measure_all(
    repo: &Path,
    regent: &Path,
    git: &Path,
    generated: &generate::Generated,
    runs: usize,
) -> Vec<Row> {
    let model = generated.model.clone();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<String>>();
    let head = git_out(repo, &["rev-parse", "HEAD"]);
    let reset = || {
        git_run(repo, &["reset", "-q", "--hard", &head]);
        // Tags regent created in the timed run.
        let tags = git_out(repo, &["tag", "--points-at", "HEAD@{1}"]);
        for tag in tags.lines() {
            git_run(repo, &["tag", "-d", tag]);
        }
    };
    // Every registry blob, for `git cat-file --batch`: the raw cost of reading them all.
    let blobs = repo.join(".git/bench-blobs");
    std::fs::write(
        &blobs,
        git_out(repo, &["ls-tree", "-r", "--object-only", "HEAD"]),
    )
    .unwrap();
    let model_blobs = repo.join(".git/bench-model-blobs");
    std::fs::write(
        &model_blobs,
        git_out(
            repo,
            &["ls-tree", "-r", "--object-only", "HEAD", "--", "models"],
        ),
    )
    .unwrap();
    let one_model_blobs = repo.join(".git/bench-one-model-blobs");
    std::fs::write(
        &one_model_blobs,
        git_out(
            repo,
            &[
                "ls-tree",
                "-r",
                "--object-only",
                "HEAD",
                "--",
                &format!("models/{model}"),
            ],
        ),
    )
    .unwrap();

    let ms = Duration::from_millis;
    let case = |args: Vec<String>| Case {
        program: regent,
        args,
        reset: None,
        stdin: None,
    };
    let mut rows = Vec::new();
    // The raw Git work a command is measured beside.
    let mut row = |command: &str, c: Case<'_>, raw: Option<Case<'_>>, target: Option<Duration>| {
        let regent_time = median(repo, &c, runs);
        let git = raw.map(|raw| {
            let label = if raw.program == git {
                format!("git {}", raw.args.join(" "))
            } else {
                raw.args.last().cloned().unwrap_or_default()
            };
            (label, median(repo, &raw, runs))
        });
        rows.push(Row {
            command: command.to_owned(),
            regent: regent_time,
            git,
            target,
        });
    };
    let batch = s(&["cat-file", "--batch"]);
    row("--help", case(s(&["--help"])), None, Some(ms(5)));
    row(
        &format!("resolve models:/{model}/production"),
        case(s(&["resolve", &format!("models:/{model}/production")])),
        Some(git_case(
            git,
            s(&["cat-file", "-p", &format!("HEAD:models/{model}/model.yaml")]),
            None,
        )),
        Some(ms(10)),
    );
    row(
        &format!("show {model}"),
        case(s(&["show", &model])),
        Some(git_case(git, batch.clone(), Some(&one_model_blobs))),
        Some(ms(20)),
    );
    row(
        "show",
        case(s(&["show"])),
        Some(git_case(git, batch.clone(), Some(&model_blobs))),
        Some(ms(150)),
    );
    row(
        &format!("history {model}"),
        case(s(&["history", &model, "--json"])),
        Some(git_case(
            git,
            s(&["log", "--format=%H", "--", &format!("models/{model}")]),
            None,
        )),
        None,
    );
    row(
        "validate",
        case(s(&["validate"])),
        Some(git_case(git, batch.clone(), Some(&blobs))),
        Some(ms(1000)),
    );
    row(
        "check (one-model PR)",
        case(s(&["check", "--base", "main", "--head", "pr"])),
        None,
        Some(ms(50)),
    );
    // Git's own cost of one file changed and committed: `git add` rewrites
    // the whole index too.
    let sh = which("sh");
    let raw_commit = |path: String| Case {
        program: &sh,
        args: vec![
            "-c".into(),
            format!("echo '# x' >> {path} && git add {path} && git commit -q -m raw"),
        ],
        reset: Some(&reset),
        stdin: None,
    };
    row(
        "register",
        Case {
            program: regent,
            args: s(&["register", &model, "--artifact", "s3://bench/new.pkl"]),
            reset: Some(&reset),
            stdin: None,
        },
        Some(raw_commit(format!("models/{model}/versions/new.yaml"))),
        Some(ms(50)),
    );
    row(
        "promote",
        Case {
            program: regent,
            args: s(&[
                "promote",
                &model,
                &generated.promotable.to_string(),
                "--to",
                "staging",
            ]),
            reset: Some(&reset),
            stdin: None,
        },
        Some(raw_commit(format!("models/{model}/model.yaml"))),
        Some(ms(50)),
    );
    // Cold: the history cache (.git/regent) removed before every run, as in a
    // fresh CI clone. The warm rows above reuse it.
    let drop_cache = || {
        let _ = std::fs::remove_dir_all(repo.join(".git/regent"));
    };
    row(
        &format!("history {model} (cold)"),
        Case {
            program: regent,
            args: s(&["history", &model, "--json"]),
            reset: Some(&drop_cache),
            stdin: None,
        },
        Some(git_case(
            git,
            s(&["log", "--format=%H", "--", &format!("models/{model}")]),
            None,
        )),
        None,
    );
    row(
        "check (one-model PR, cold)",
        Case {
            program: regent,
            args: s(&["check", "--base", "main", "--head", "pr"]),
            reset: Some(&drop_cache),
            stdin: None,
        },
        None,
        None,
    );
    // After a merge: the last commit's event (tags exist, nothing is made).
    row(
        "publish --since HEAD~1",
        case(s(&["publish", "--since", "HEAD~1"])),
        None,
        None,
    );
    row(
        "publish --since HEAD~1 (cold)",
        Case {
            program: regent,
            args: s(&["publish", "--since", "HEAD~1"]),
            reset: Some(&drop_cache),
            stdin: None,
        },
        None,
        None,
    );
    row(
        "run list --sort accuracy",
        case(s(&["run", "list", "--sort", "accuracy", "--limit", "10"])),
        None,
        None,
    );
    // The whole web UI as a static site: every model, version, run and event
    // (each run gets its own page). A build replaces the previous one.
    let site = repo.join(".git/bench-ui").to_string_lossy().into_owned();
    row("ui build", case(s(&["ui", "build", &site])), None, None);
    rows
}

/// The raw Git work a command is measured beside.
fn git_case<'a>(git: &'a Path, args: Vec<String>, stdin: Option<&'a Path>) -> Case<'a> {
    Case {
        program: git,
        args,
        reset: None,
        stdin,
    }
}

fn print_table(rows: &[Row], judge: bool) {
    println!("| command | regent | raw Git equivalent | git | ratio | target (10k) |");
    println!("| --- | ---: | --- | ---: | ---: | ---: |");
    for r in rows {
        let (label, git, ratio) = match &r.git {
            Some((label, t)) => (
                format!("`{label}`"),
                format(*t),
                format!("{:.1}×", r.regent.as_secs_f64() / t.as_secs_f64()),
            ),
            None => (String::new(), String::new(), String::new()),
        };
        let target = match (r.target, judge) {
            (Some(t), true) => format!("{} {}", if r.regent <= t { "✅" } else { "❌" }, format(t)),
            (Some(t), false) => format(t),
            (None, _) => String::new(),
        };
        println!(
            "| `{}` | {} | {label} | {git} | {ratio} | {target} |",
            r.command,
            format(r.regent)
        );
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let git = Command::new("git")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!(
        "Machine: {cpu}, {cores} cores; {git}; regent {}",
        env!("CARGO_PKG_VERSION")
    )
}

fn which(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(program))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(program))
}

fn git_out(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn git_run(dir: &Path, args: &[&str]) {
    let _ = Command::new("git").arg("-C").arg(dir).args(args).output();
}
