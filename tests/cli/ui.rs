//! `regent ui` and `regent ui build`: the static site's files, and the
//! server's behaviour over real HTTP (raw requests, so the tests choose the
//! path bytes and the Host header). The pages themselves are tested in
//! Chromium by tests/ui/run.mjs.

use crate::common::TestEnv;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// A registry with one run and one model.
fn registry() -> TestEnv {
    let env = TestEnv::with_registry();
    env.run_ok(&[
        "run",
        "log",
        "churn",
        "--name",
        "first",
        "--param",
        "lr=0.1",
        "--metric",
        "accuracy=0.91",
        "--note",
        "</script><img src=x onerror=alert(1)>",
    ]);
    env.run_ok(&[
        "register",
        "churn",
        "--artifact",
        "s3://b/churn.pkl",
        "--digest",
        &format!("sha256:{}", "a".repeat(64)),
        "--run",
        "churn/first",
    ]);
    env
}

/// A running `regent ui --port 0`, killed when dropped.
struct Served {
    child: std::process::Child,
    address: String,
}

impl Served {
    fn start(env: &TestEnv, args: &[&str]) -> Served {
        let mut all = vec!["ui", "--port", "0"];
        all.extend_from_slice(args);
        let mut child = env.spawn_regent(&env.repo, &all, &[]);
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .trim()
            .strip_prefix("http://")
            .and_then(|a| a.strip_suffix('/'))
            .unwrap_or_else(|| panic!("a URL on stdout, got {line:?}"))
            .to_owned();
        Served { child, address }
    }

    /// Sends `METHOD PATH` with a Host header; returns (status, headers, body).
    fn request_as(&self, method: &str, path: &str, host: &str) -> (u16, String, String) {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_owned(), body.to_owned())
    }

    fn get(&self, path: &str) -> (u16, String, String) {
        self.request_as("GET", path, &self.address.clone())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serves_on_loopback_with_a_strict_policy_and_only_known_paths() {
    let env = registry();
    let served = Served::start(&env, &[]);
    assert!(
        served.address.starts_with("127.0.0.1:"),
        "{}",
        served.address
    );

    let (status, head, body) = served.get("/");
    assert_eq!(status, 200);
    assert!(body.contains("<script src=\"js/app.js\">"), "{body}");
    let head = head.to_lowercase();
    assert!(
        head.contains("content-security-policy: default-src 'none'; script-src 'self'"),
        "{head}"
    );
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(head.contains("content-type: text/html"), "{head}");

    let (status, head, body) = served.get("/data/run/churn/first.js");
    assert_eq!(status, 200);
    assert!(
        head.to_lowercase()
            .contains("content-type: text/javascript")
    );
    // The note's markup cannot close the script it sits in.
    assert!(
        body.contains(r"\u003c/script\u003e\u003cimg src=x"),
        "{body}"
    );
    assert!(!body.contains("</script>"));
    assert!(
        body.contains(r#""model":"churn","stages":[],"status":"active","version":1"#),
        "lineage: {body}"
    );

    let (status, _, body) = served.get("/vendor/uplot/LICENSE");
    assert_eq!(status, 200);
    assert!(body.contains("MIT"), "{body}");

    for path in [
        "/nope",
        "/data/run/churn/missing.js",
        "/data/model/nope.js",
        "/data/runs/churn/1.js",
        "/../Cargo.toml",
        "/data/../index.html",
        "/data/run/churn/..%2f..%2fregent.yaml.js",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/js/../../src/main.rs",
        "/data/model/churn/../../x.js",
        "//etc/passwd",
        "/regent.yaml",
    ] {
        let (status, _, body) = served.get(path);
        assert_eq!(status, 404, "{path}: {body}");
    }

    let (status, head, body) =
        served.request_as("HEAD", "/data/registry.js", &served.address.clone());
    assert_eq!(status, 200);
    assert!(
        head.to_lowercase().contains("content-security-policy"),
        "{head}"
    );
    assert_eq!(body, "", "HEAD has no body");

    let (status, head, _) = served.request_as("POST", "/", &served.address.clone());
    assert_eq!(status, 405);
    assert!(head.to_lowercase().contains("allow: get, head"), "{head}");
    let (status, _, _) = served.request_as("DELETE", "/data/registry.js", &served.address.clone());
    assert_eq!(status, 405);

    // A page of another site reaching us by a DNS name bound to 127.0.0.1.
    let (status, _, body) = served.request_as("GET", "/data/registry.js", "evil.example:80");
    assert_eq!(status, 403, "{body}");
    let port = served.address.rsplit(':').next().unwrap();
    let (status, _, _) =
        served.request_as("GET", "/data/registry.js", &format!("localhost:{port}"));
    assert_eq!(status, 200);
}

/// The JSON a data file hands to `regent.data(key, …)`.
fn data_json(body: &str, key: &str) -> serde_json::Value {
    let json = body
        .strip_prefix(&format!("regent.data(\"{key}\","))
        .and_then(|b| b.strip_suffix(");\n"))
        .unwrap_or_else(|| panic!("a data script for {key}: {body}"));
    serde_json::from_str(json).unwrap()
}

#[test]
fn serves_the_history_in_chunks_with_an_index() {
    let env = registry();
    let history = env.json(&["history"]);
    let events = history.as_array().unwrap();
    let served = Served::start(&env, &[]);

    let (status, _, body) = served.get("/data/history/index.js");
    assert_eq!(status, 200, "{body}");
    let index = data_json(&body, "history/index");
    assert_eq!(index["total"], events.len());
    assert_eq!(index["chunk_size"], 1000);
    let newest = &events[events.len() - 1];
    let chunks = index["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 1, "{index}");
    assert_eq!(chunks[0]["events"], events.len());
    assert_eq!(chunks[0]["newest"], newest["time"]);
    assert_eq!(chunks[0]["oldest"], events[0]["time"]);
    assert_eq!(chunks[0]["models"], serde_json::json!(["churn"]));
    assert_eq!(index["models"], serde_json::json!(["churn"]));
    assert!(
        index["events"]
            .as_array()
            .unwrap()
            .contains(&"register".into()),
        "{index}"
    );

    // Chunk 0 is the whole history here, newest first, as `history` has it.
    let (status, _, body) = served.get("/data/history/0.js");
    assert_eq!(status, 200, "{body}");
    let chunk = data_json(&body, "history/0");
    let mut newest_first = events.clone();
    newest_first.reverse();
    assert_eq!(chunk["events"], serde_json::Value::from(newest_first));

    // Past the last chunk, or not a chunk's number: no such file.
    for path in [
        "/data/history/1.js",
        "/data/history/18446744073709551615.js",
        "/data/history/99999999999999999999999.js",
        "/data/history/01.js",
        "/data/history/+0.js",
        "/data/history/-1.js",
        "/data/history/0x0.js",
        "/data/history/index/0.js",
        "/data/history/.js",
        "/data/history.js",
    ] {
        let (status, _, body) = served.get(path);
        assert_eq!(status, 404, "{path}: {body}");
    }
}

#[test]
fn a_new_commit_shows_on_the_next_request() {
    let env = registry();
    let served = Served::start(&env, &[]);
    let (_, _, before) = served.get("/data/registry.js");
    assert!(before.contains(r#""name":"churn","runs":1"#), "{before}");
    env.run_ok(&[
        "run",
        "log",
        "churn",
        "--name",
        "second",
        "--metric",
        "accuracy=0.5",
    ]);
    let (_, _, after) = served.get("/data/registry.js");
    assert!(after.contains(r#""name":"churn","runs":2"#), "{after}");
    let (status, _, run) = served.get("/data/run/churn/second.js");
    assert_eq!(status, 200, "{run}");

    // `--rev` pins the served state.
    let pinned = Served::start(&env, &["--rev", "HEAD~1"]);
    let (_, _, old) = pinned.get("/data/registry.js");
    assert!(old.contains(r#""name":"churn","runs":1"#), "{old}");
}

#[test]
fn refuses_bad_addresses_and_revisions() {
    let env = registry();
    let out = env.run_err(2, &["ui", "--bind", "localhost"]);
    assert!(out.stderr.contains("--bind"), "{}", out.stderr);
    let out = env.run_err(2, &["ui", "--rev", "no-such-rev", "--port", "0"]);
    assert!(out.stderr.contains("no-such-rev"), "{}", out.stderr);
}

#[test]
fn builds_a_static_site_and_replaces_only_its_own_builds() {
    let env = registry();
    let out = env.root.join("site");
    let site = out.to_str().unwrap();
    let json = env.json(&["ui", "build", site]);
    assert_eq!(json["runs"], 1);
    assert_eq!(json["versions"], 1);
    for file in [
        "index.html",
        "style.css",
        "js/app.js",
        "vendor/uplot/uPlot.iife.min.js",
        "vendor/uplot/LICENSE",
        "data/registry.js",
        "data/history/index.js",
        "data/history/0.js",
        "data/runs/churn/0.js",
        "data/run/churn/first.js",
        "data/model/churn.js",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    // The history in chunks with an index, as the server has them; no
    // file of the whole history.
    assert!(!out.join("data/history.js").exists());
    assert!(!out.join("data/history/1.js").exists());
    let served = Served::start(&env, &[]);
    for key in ["history/index", "history/0"] {
        let built = std::fs::read_to_string(out.join(format!("data/{key}.js"))).unwrap();
        assert_eq!(served.get(&format!("/data/{key}.js")).2, built, "{key}");
    }
    drop(served);
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    // Nothing from another origin, no inline script.
    assert!(
        !index.contains("http://") && !index.contains("https://"),
        "{index}"
    );
    assert!(!index.contains("<script>"), "{index}");
    // Static hosts send no headers: the page carries its policy itself.
    assert!(
        index.contains(r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'"#),
        "{index}"
    );

    // A rebuild at an older revision replaces the previous build.
    env.run_ok(&[
        "run",
        "log",
        "churn",
        "--name",
        "second",
        "--metric",
        "accuracy=0.5",
    ]);
    env.run_ok(&["ui", "build", site]);
    assert!(out.join("data/run/churn/second.js").is_file());
    env.run_ok(&["ui", "build", site, "--rev", "HEAD~1"]);
    assert!(!out.join("data/run/churn/second.js").exists());

    // A folder that is not a build is never replaced.
    let mine = env.root.join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep me").unwrap();
    let refused = env.run_err(2, &["ui", "build", mine.to_str().unwrap()]);
    assert!(
        refused
            .stderr
            .contains("is not a folder `regent ui build` made"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        std::fs::read_to_string(mine.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 1);
    assert_eq!(
        std::fs::read_dir(&env.root)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".regent-ui"))
            .count(),
        0,
        "no temporary folder left"
    );
}

#[test]
fn a_broken_file_fails_the_build_and_leaves_no_site() {
    let env = registry();
    let run = crate::common::run_file("churn", "first");
    env.write(&run, "name: first\nstatus: [not, a, status]\n");
    env.commit_all("break a run by hand");
    let out = env.root.join("site");
    let failed = env.run_err(2, &["ui", "build", out.to_str().unwrap()]);
    assert!(
        failed.stderr.contains("run churn/first is invalid"),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains(&run),
        "names the file: {}",
        failed.stderr
    );
    assert!(!out.exists());
    let leftovers = std::fs::read_dir(&env.root)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".regent-ui"))
        .count();
    assert_eq!(leftovers, 0, "no temporary folder left");

    // The server says so for that page, and serves the others.
    let served = Served::start(&env, &[]);
    let (status, _, body) = served.get("/data/run/churn/first.js");
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("run churn/first is invalid"), "{body}");
    let (status, _, _) = served.get("/data/registry.js");
    assert_eq!(status, 200);
}
