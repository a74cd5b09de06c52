//! Whole-process timings: each command runs once to warm the caches, then
//! `runs` times; the median is reported. A command that changes the
//! repository is followed, untimed, by a reset to the state before it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One timed command line.
pub struct Case<'a> {
    pub program: &'a Path,
    pub args: Vec<String>,
    /// Runs untimed after each run (e.g. undo a commit).
    pub reset: Option<&'a dyn Fn()>,
    /// Feeds this file to stdin (for `git cat-file --batch`).
    pub stdin: Option<&'a Path>,
}

fn run_once(dir: &Path, case: &Case<'_>) -> Duration {
    let mut command = Command::new(case.program);
    command
        .current_dir(dir)
        .args(&case.args)
        .env("REGENT_ACTOR", "bench")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(input) = case.stdin {
        command.stdin(std::fs::File::open(input).expect("stdin file"));
    }
    let start = Instant::now();
    let output = command.output().expect("the command starts");
    let elapsed = start.elapsed();
    // A refusal or an error would make the timing meaningless.
    if !output.status.success() {
        panic!(
            "{} {:?} failed in {}: {}",
            case.program.display(),
            case.args,
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    if let Some(reset) = case.reset {
        reset();
    }
    elapsed
}

/// The median of `runs` timed runs after one warm-up.
pub fn median(dir: &Path, case: &Case<'_>, runs: usize) -> Duration {
    run_once(dir, case);
    let mut times: Vec<Duration> = (0..runs.max(1)).map(|_| run_once(dir, case)).collect();
    times.sort();
    times[times.len() / 2]
}

/// Peak resident memory of one run, in MiB, through GNU time when it is there.
pub fn peak_memory_mib(dir: &Path, program: &Path, args: &[String]) -> Option<f64> {
    let output = Command::new("/usr/bin/time")
        .current_dir(dir)
        .arg("-f")
        .arg("%M")
        .arg(program)
        .args(args)
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stderr);
    let kib: f64 = text.lines().last()?.trim().parse().ok()?;
    Some(kib / 1024.0)
}

/// `12.3 ms` / `1.20 s`.
pub fn format(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.1} ms")
    }
}
