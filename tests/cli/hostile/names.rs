//! Hostile names.

use super::*;

// ---------------------------------------------------------------------------
// Hostile names

/// Names that must never become a path, a Git argument or a tag name: path
/// traversal, separators Git and regent give meaning to, control characters
/// (NUL cannot be passed in argv), Unicode look-alikes and invisible or
/// reordering characters, and a leading `-` (option injection).
const HOSTILE_NAMES: [&str; 12] = [
    "..",
    "a/b",
    "a#b",
    "a@b",
    "a\nb",
    "a\u{1b}[31mb",
    "\u{430}bc",     // Cyrillic а
    "\u{ff43}hurn",  // full-width ｃ
    "ch\u{200d}urn", // zero-width joiner
    "\u{202e}nruhc", // right-to-left override
    "churn\u{0301}", // combining accent
    "-rf",
];

/// Every command that takes a name, with `{}` where the hostile name goes.
/// A leading `-` is passed after `--` or with `=`, as a user (or a script)
/// would to get it through.
const NAME_SLOTS: [&[&str]; 30] = [
    // model names
    &["register", "--artifact", "s3://x/1", "--", "{}"],
    &["promote", "--to", "staging", "--", "{}", "1"],
    &["demote", "--from", "staging", "--", "{}"],
    &["rollback", "--stage", "staging", "--", "{}"],
    &["alias", "set", "--", "{}", "champion", "1"],
    &["alias", "rm", "--", "{}", "champion"],
    &["tag", "--", "{}", "k=v"],
    &["describe", "--", "{}", "text"],
    &["deprecate", "--", "{}", "1"],
    &["archive", "--", "{}", "1"],
    &["approve", "--stage", "staging", "--", "{}", "1"],
    &["show", "--", "{}"],
    &["resolve", "models:/{}/1"],
    &["history", "--", "{}"],
    // stage names
    &["promote", "m", "1", "--to={}"],
    &["demote", "m", "--from={}"],
    &["rollback", "m", "--stage={}"],
    &["approve", "m", "1", "--stage={}"],
    &["history", "m", "--stage={}"],
    // alias names
    &["alias", "set", "--", "m", "{}", "1"],
    &["alias", "rm", "--", "m", "{}"],
    &["approve", "m", "1", "--alias={}"],
    &["resolve", "models:/m@{}"],
    // experiment and run names
    &["run", "log", "--", "{}"],
    &["run", "list", "--", "{}"],
    &["run", "show", "--", "{}/r"],
    &["run", "log", "e", "--name={}"],
    &["run", "show", "e/{}"],
    &["run", "compare", "e/r", "e/{}"],
    &["register", "m", "--artifact", "s3://x/1", "--run=e/{}"],
];

/// Each hostile name in each slot is refused with the name rule (exit 2),
/// before anything is read into a path, a branch or a tag.
#[test]
fn hostile_names_are_refused_by_every_command_with_the_rule() {
    let env = env_with_model();
    for name in HOSTILE_NAMES {
        for slot in NAME_SLOTS {
            let args: Vec<String> = slot.iter().map(|a| a.replace("{}", name)).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            // `show -- a/b` and `describe -- a/b` read `a` version `b`.
            let says: &[&str] = if name == "a/b" && matches!(slot[0], "show" | "describe" | "tag") {
                &["\"b\" is not a version number"]
            } else {
                &[" name \"", "names are "]
            };
            assert_outcome(&env, &format!("name {name:?}"), &args, 2, says);
        }
    }
    assert_eq!(env.git(&["tag"]), "", "no tag was made");
}

/// Hostile names as folder and file names in a committed registry: each is
/// refused by `validate --rev` with the rule, and `show` lists none of them.
#[test]
fn hostile_names_in_committed_paths_are_refused() {
    let env = env_with_model();
    let names = [
        "a#b",
        "a@b",
        "\u{430}bc",
        "ch\u{200d}urn",
        "\u{202e}nruhc",
        "-rf",
        "a\u{1b}b",
    ];
    for name in names {
        env.write(&format!("models/{name}/model.yaml"), "name: m\n");
        env.write(&run_file(name, "r"), run_yaml(name, "r", "{acc: 0.5}"));
        env.write(&run_file("e", name), run_yaml("e", name, "{acc: 0.5}"));
    }
    env.commit_all("hostile paths");
    let out = run_hostile(&env, &[], &["validate", "--json", "--rev", "HEAD"]);
    assert_eq!(out.code, 1, "{out:?}");
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let errors = value["errors"].as_array().unwrap();
    for name in names {
        for (file, kind) in [
            (format!("models/{name}/model.yaml"), "model"),
            (run_file(name, "r"), "experiment"),
            (run_file("e", name), "run"),
        ] {
            assert!(
                errors.iter().any(|e| e["file"] == file.as_str()
                    && e["message"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("invalid {kind} name"))),
                "{file}: {value:#}"
            );
        }
    }
    // Listing skips them with a warning that shows each name escaped.
    let out = run_hostile(&env, &[], &["show"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(r#"skipping models/"a\u{1b}b""#),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains('\u{1b}'),
        "a raw escape reached the terminal"
    );
    let listed = env.json(&["show"]);
    let listed: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["m"]);
}

/// Tag, param and metric keys with control characters are refused: they are
/// shown in tables, PR bodies and comments.
#[test]
fn keys_with_control_characters_are_refused() {
    let env = env_with_model();
    for key in ["a\nb", "a\u{1b}[2Jb", "a\rb"] {
        let pair = format!("{key}=v");
        let metric = format!("{key}=1");
        for args in [
            vec!["tag", "m/1", pair.as_str()],
            vec![
                "register",
                "m",
                "--artifact",
                "s3://x/2",
                "--tag",
                pair.as_str(),
            ],
            vec!["run", "log", "e", "--param", pair.as_str()],
            vec!["run", "log", "e", "--metric", metric.as_str()],
        ] {
            assert_outcome(
                &env,
                "a key with a control character",
                &args,
                2,
                &["contains a control character"],
            );
        }
    }
}
