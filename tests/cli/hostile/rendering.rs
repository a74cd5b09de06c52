//! Injection into what regent renders, and terminal escapes in what it prints.

use super::*;

// ---------------------------------------------------------------------------
// Injection into what regent renders: PR bodies, check reports, annotations

/// The text a description, a metric name or a file's key tries to inject.
const INJECTIONS: [&str; 6] = [
    "<script>",
    "{{ 7*7 }}",
    "{% raw %}",
    "<!-- regent:",
    "@alice",
    "`code`",
];

/// Asserts that `markdown` shows none of [`INJECTIONS`] as live syntax:
/// template syntax was not evaluated, HTML and the marker are escaped,
/// mentions are broken, and no table row gained a column.
#[track_caller]
fn assert_inert(markdown: &str, marker: &str) {
    // Shown as written (escaped), so not evaluated to 49.
    assert!(markdown.contains(r"\{\{ 7\*7 \}\}"), "{markdown}");
    assert!(markdown.contains(r"\{% raw %\}"), "{markdown}");
    assert!(markdown.contains("&lt;script&gt;"), "{markdown}");
    assert!(markdown.contains("@\u{200b}alice"), "{markdown}");
    assert!(markdown.contains(r"\`code\`"), "{markdown}");
    for raw in ["<script>", "@alice", "{{ 7", "`code`"] {
        assert!(!markdown.contains(raw), "{raw:?} is live:\n{markdown}");
    }
    assert_eq!(
        markdown.matches("<!--").count(),
        1,
        "a forged marker:\n{markdown}"
    );
    assert!(markdown.starts_with(marker), "{markdown}");
    // Every table row has as many unescaped `|` as its header.
    let cells = |line: &str| line.replace(r"\|", "").matches('|').count();
    let mut columns = None;
    for line in markdown.lines() {
        if line.starts_with('|') {
            let n = cells(line);
            match columns {
                Some(c) if line.starts_with("| ---") || c == n => {}
                Some(c) => panic!("a row with {n} bars in a {c}-bar table: {line}\n{markdown}"),
                None => columns = Some(n),
            }
        } else {
            columns = None;
        }
    }
}

/// The hostile description of [`INJECTIONS`] with a newline that tries to
/// start a forged table row, as one line of YAML.
fn hostile_text() -> String {
    format!("{} a|b\n| forged | row |", INJECTIONS.join(" "))
}

/// A description and a metric name full of HTML, template syntax, a forged
/// marker, mentions, backticks and table-breaking `|` reach the body of a
/// promotion PR escaped, never evaluated.
#[tokio::test]
async fn injection_into_a_promotion_pr_body_is_escaped() {
    use crate::github::{pull, regent, setup};
    use wiremock::matchers::{any, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let env = setup();
    let metric = format!("{}|x=0.5", INJECTIONS.join(""));
    env.run_ok(&["run", "log", "e", "--name", "r2", "--metric", &metric]);
    env.run_ok(&[
        "register",
        "m",
        "--artifact",
        "s3://m/2",
        "--run",
        "e/r2",
        "--description",
        &hostile_text(),
    ]);
    env.git(&["push", "-q", "origin", "main"]);
    let server = MockServer::start().await;
    let branch = "regent/m/staging/v2";
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/pulls"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/pulls"))
        .respond_with(ResponseTemplate::new(201).set_body_json(pull(7, branch, "abc", "tester")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/ml/issues/7/labels"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unplanned request"))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;

    let out = regent(
        &env,
        &server,
        &["promote", "m", "2", "--to", "staging", "--pr"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let requests = server.received_requests().await.unwrap();
    let create = requests
        .iter()
        .find(|r| r.method.as_str() == "POST" && r.url.path() == "/repos/acme/ml/pulls")
        .expect("the pull request was opened");
    let body: serde_json::Value = serde_json::from_slice(&create.body).unwrap();
    let text = body["body"].as_str().unwrap();
    assert_inert(text, "<!-- regent:promotion -->");
    // The description stays one quoted paragraph: its newline cannot start a row.
    let quoted: Vec<&str> = text.lines().filter(|l| l.starts_with("> ")).collect();
    assert_eq!(quoted.len(), 1, "{text}");
    assert!(quoted[0].contains(r"a\|b \| forged \| row \|"), "{text}");
    // The metric's name is one escaped cell of the metrics table.
    assert!(
        text.lines()
            .any(|l| l.starts_with("| &lt;script&gt;") && l.contains(r"\|x | 0.5 |")),
        "{text}"
    );
}

/// A pull request that adds a version file whose keys carry the same
/// injections: the `check` report (the sticky comment and the step summary)
/// quotes them escaped, and `check` without GitHub renders it to the summary.
#[test]
fn injection_into_the_check_report_is_escaped() {
    let env = env_with_model();
    env.git(&["switch", "-q", "-c", "pr"]);
    env.write(
        "models/m/versions/2.yaml",
        version_yaml("m", 2, &format!("{:?}: 1\n", hostile_text())),
    );
    env.commit_all("a hostile version file");
    env.git(&["switch", "-q", "main"]);
    let summary = env.root.join("summary.md");
    let output = env.root.join("output.txt");
    let before = env.state();
    let out = run_hostile(
        &env,
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("GITHUB_OUTPUT", output.to_str().unwrap()),
        ],
        &["check", "--base", "main", "--head", "pr"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(env.state(), before);
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(markdown.contains("unknown key"), "{markdown}");
    assert_inert(&markdown, "<!-- regent:check -->");
    // Its annotation is one workflow command, the newline escaped.
    let annotations: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 1, "{}", out.stdout);
    assert!(annotations[0].contains("%0A| forged"), "{}", annotations[0]);
}

/// A description or key carrying `::error::` and `%0A` cannot add a workflow
/// command of its own: each problem is exactly one escaped annotation.
#[test]
fn workflow_commands_in_files_cannot_forge_annotations() {
    let env = env_with_model();
    env.write(
        "models/m/model.yaml",
        corpus!("workflow-command.model.yaml"),
    );
    env.write("models/m/x::y,z.txt", "stray\n");
    let before = env.state();
    let out = run_hostile(&env, &[("GITHUB_ACTIONS", "true")], &["validate"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(env.state(), before);
    // Every line GitHub reads as a command, the human lines included.
    let commands: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), 2, "{}", out.stdout);
    assert!(
        out.stdout
            .starts_with("models/m/model.yaml:2:1: unknown key `x\\n::error::forged %0A,y::z`"),
        "{}",
        out.stdout
    );
    assert!(
        commands[0].starts_with("::error file=models/m/model.yaml,line=2,col=1::unknown key `x%0A::error::forged %250A,y::z`"),
        "{}",
        commands[0]
    );
    assert!(
        commands[1]
            .starts_with("::error file=models/m/x%3A%3Ay%2Cz.txt,line=1,col=1::unexpected file"),
        "{}",
        commands[1]
    );
}

/// A comment that quotes regent's marker (a reviewer explaining it, or a
/// forgery) is not regent's sticky comment: regent posts its own and never
/// edits somebody else's.
#[tokio::test]
async fn a_forged_marker_in_a_comment_is_not_taken_for_regents() {
    use crate::github::{check, gate_mocks, pr_branch, setup};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let env = setup();
    let head = pr_branch(&env);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/ml/issues/7/comments"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!([{
                "id": 99,
                "body": "LGTM. regent finds its report by <!-- regent:check --> so keep it",
                "user": {"login": "alice"}
            }])),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/ml/issues/comments/99"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .with_priority(1)
        .mount(&server)
        .await;
    // No regent comment yet: exactly one is created.
    gate_mocks(&server, &head, vec![vec![]], vec![], false).await;
    let out = check(&env, &server, &head);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(!out.stderr.contains("could not write"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// Terminal escapes in what regent prints for people

/// A committed file whose strings carry escape sequences (clear the screen,
/// retitle the terminal, hide text), bells and carriage returns: `show`,
/// `run show` and `run list` print them escaped; line breaks in a
/// description stay; JSON keeps the exact text.
#[test]
fn terminal_escapes_in_committed_files_are_printed_escaped() {
    let env = env_with_model();
    env.write(
        "experiments/e/db/r2.yaml",
        corpus!("terminal-escapes.run.yaml"),
    );
    env.write(
        "models/m/model.yaml",
        corpus!("terminal-escapes.model.yaml"),
    );
    env.commit_all("escape sequences");
    for args in [
        &["show", "m"][..],
        &["show", "m/1"],
        &["show"],
        &["run", "show", "e/r2"],
        &["run", "list", "e"],
    ] {
        assert_outcome(&env, "terminal escapes", args, 0, &[]);
        let out = run_hostile(&env, &[], args);
        for c in ['\u{1b}', '\u{7}', '\r'] {
            assert!(
                !out.stdout.contains(c),
                "regent {args:?} printed {c:?} raw:\n{}",
                out.stdout
            );
        }
    }
    let out = run_hostile(&env, &[], &["show", "m"]);
    assert!(
        out.stdout
            .contains("line one\nline two\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\r\n"),
        "{}",
        out.stdout
    );
    let out = run_hostile(&env, &[], &["run", "show", "e/r2"]);
    assert!(
        out.stdout.contains(r"hidden\u{1b}]0;pwned\u{7}\rvisible"),
        "{}",
        out.stdout
    );
    let shown = env.json(&["run", "show", "e/r2"]);
    assert_eq!(
        shown["note"], "hidden\u{1b}]0;pwned\u{7}\rvisible",
        "{shown}"
    );
}
