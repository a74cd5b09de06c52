//! Named crash points for the crash-safety tests (`tests/cli/crash.rs`).
//!
//! With the `fault-injection` feature (on in every `cargo test` build,
//! off otherwise), a process whose `REGENT_FAULT` names a point kills itself
//! there with a real SIGKILL: no destructor, no flush, no unwinding, just
//! as the OOM killer or a cancelled CI job would stop it. `NAME@N` fires at the Nth
//! time the point is reached (for points inside a loop), `NAME` at the first.
//! `REGENT_FAULT_LOG` lists the points a run passes. `REGENT_FAULT_PAUSE=NAME:MS`
//! sleeps MS milliseconds at every pass of NAME, widening a window
//! that concurrent processes could otherwise only hit by chance (the
//! concurrency tests pause between reading and writing the index).
//!
//! Without the feature [`point`] is an empty inline function: release builds
//! contain neither the check nor the variable's name.

/// Stops the process with SIGKILL here if `REGENT_FAULT` names this point.
/// With `REGENT_FAULT_LOG=FILE`, first appends the point's name to FILE, so
/// a test learns from one uncrashed run every point a command passes.
#[cfg(feature = "fault-injection")]
pub fn point(name: &str) {
    use std::sync::atomic::{AtomicU32, Ordering};
    // Hits of the named point so far; other points are not counted.
    static HITS: AtomicU32 = AtomicU32::new(0);
    if let Some(log) = std::env::var_os("REGENT_FAULT_LOG") {
        use std::io::Write;
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut f| writeln!(f, "{name}"));
    }
    if let Ok(pause) = std::env::var("REGENT_FAULT_PAUSE")
        && let Some((point, millis)) = pause.split_once(':')
        && point == name
    {
        std::thread::sleep(std::time::Duration::from_millis(
            millis.parse().unwrap_or(0),
        ));
    }
    let Ok(wanted) = std::env::var("REGENT_FAULT") else {
        return;
    };
    let (wanted_name, nth) = match wanted.split_once('@') {
        Some((n, count)) => (n, count.parse().unwrap_or(1)),
        None => (wanted.as_str(), 1),
    };
    if wanted_name != name || HITS.fetch_add(1, Ordering::SeqCst) + 1 != nth {
        return;
    }
    kill_self();
}

/// SIGKILL to this process. The crate forbids `unsafe`, so the signal comes
/// from the shell's `kill` builtin rather than from `libc::kill`.
#[cfg(feature = "fault-injection")]
fn kill_self() -> ! {
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("sh")
        .args(["-c", "kill -KILL \"$1\"", "sh", &pid])
        .status();
    // The signal is delivered as soon as `kill` sends it; should it somehow
    // not be, abort (SIGABRT), which a crash test reports as the wrong signal.
    std::thread::sleep(std::time::Duration::from_secs(5));
    std::process::abort()
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn point(_name: &str) {}
