//! Unit tests of [`super`].
use super::*;
use proptest::prelude::*;

/// Lines are numbered in the comments to make the expected positions checkable by eye.
const DOC: &str = concat!(
    "# yaml-language-server: $schema=../schema.json\n", // 1
    "name: demo\n",                                     // 2
    "stages:\n",                                        // 3
    "  - id: build\n",                                  // 4
    "    gates:\n",                                     // 5
    "      - min: 3\n",                                 // 6
    "        max: 5\n",                                 // 7
    "  - id: \"test\"\n",                               // 8
    "    gates: [ {min: 1}, {max: 2} ]\n",              // 9
    "    script: |\n",                                  // 10
    "      make test\n",                                // 11
    "    note: >-  # folded | not a header\n",          // 12
    "      a\n",                                        // 13
    "      b\n",                                        // 14
    "\"quoted key\": 'v'\n",                            // 15
    "0: zero\n",                                        // 16
    "list:\n",                                          // 17
    "- a\n",                                            // 18
    "- b\n",                                            // 19
    "empty:\n",                                         // 20
    "multi: first\n",                                   // 21
    "  second\n",                                       // 22
    "tab: {a: \"x\ty\", b: 2}\n",                       // 23
    "nested:\n",                                        // 24
    "  inner:\n",                                       // 25
    "    deep: true\n",                                 // 26
    "blank: |\n",                                       // 27
    "last: 1\n",                                        // 28
);

fn at(source: &str, pointer: &str, target: Target) -> Option<(usize, usize)> {
    locate(source, &pointer_steps(pointer), target).map(|l| (l.line, l.column))
}

/// (pointer, target, line, column) for `DOC`.
const EXPECTED: &[(&str, Target, usize, usize)] = &[
    ("", Target::Value, 2, 1),
    ("/name", Target::Key, 2, 1),
    ("/name", Target::Value, 2, 7),
    ("/stages", Target::Key, 3, 1),
    ("/stages", Target::Value, 4, 3),
    ("/stages/0", Target::Value, 4, 5),
    ("/stages/0/id", Target::Value, 4, 9),
    ("/stages/0/gates", Target::Value, 6, 7),
    ("/stages/0/gates/0", Target::Key, 6, 9),
    ("/stages/0/gates/0/min", Target::Key, 6, 9),
    ("/stages/0/gates/0/min", Target::Value, 6, 14),
    ("/stages/0/gates/0/max", Target::Key, 7, 9),
    ("/stages/0/gates/0/max", Target::Value, 7, 14),
    ("/stages/1", Target::Value, 8, 5),
    ("/stages/1/id", Target::Value, 8, 9),
    ("/stages/1/gates", Target::Value, 9, 12),
    ("/stages/1/gates/0", Target::Value, 9, 14),
    ("/stages/1/gates/0/min", Target::Key, 9, 15),
    ("/stages/1/gates/0/min", Target::Value, 9, 20),
    ("/stages/1/gates/1", Target::Value, 9, 24),
    ("/stages/1/gates/1/max", Target::Value, 9, 30),
    ("/stages/1/script", Target::Key, 10, 5),
    ("/stages/1/script", Target::Value, 10, 13),
    ("/stages/1/note", Target::Value, 12, 11),
    ("/quoted key", Target::Key, 15, 1),
    ("/quoted key", Target::Value, 15, 15),
    ("/0", Target::Key, 16, 1),
    ("/0", Target::Value, 16, 4),
    ("/list", Target::Value, 18, 1),
    ("/list/0", Target::Value, 18, 3),
    ("/list/1", Target::Value, 19, 3),
    ("/empty", Target::Key, 20, 1),
    ("/empty", Target::Value, 20, 1),
    ("/multi", Target::Value, 21, 8),
    ("/tab/b", Target::Key, 23, 17),
    ("/tab/b", Target::Value, 23, 20),
    ("/nested/inner/deep", Target::Key, 26, 5),
    ("/nested/inner/deep", Target::Value, 26, 11),
    ("/nested/inner", Target::Value, 26, 5),
    ("/blank", Target::Value, 27, 8),
    ("/last", Target::Value, 28, 7),
    // Missing leaves fall back to the deepest existing ancestor, reported per `target`.
    ("/stages/0/gates/0/nope", Target::Value, 6, 9),
    ("/stages/0/gates/0/nope", Target::Key, 6, 9),
    ("/stages/7", Target::Value, 4, 3),
    ("/stages/7/id", Target::Key, 3, 1),
    ("/nested/inner/missing/more", Target::Key, 25, 3),
    ("/name/0", Target::Value, 2, 7),
    ("/nope", Target::Value, 2, 1),
    ("/list/x", Target::Value, 18, 1),
];

fn check_all(source: &str) {
    for &(pointer, target, line, column) in EXPECTED {
        assert_eq!(
            at(source, pointer, target),
            Some((line, column)),
            "{pointer} {target:?}"
        );
    }
}

#[test]
fn keys_values_and_items_at_several_depths() {
    check_all(DOC);
}

#[test]
fn crlf_line_endings() {
    check_all(&DOC.replace('\n', "\r\n"));
}

#[test]
fn bom_is_not_a_column() {
    check_all(&format!("\u{feff}{DOC}"));
    check_all(&format!("\u{feff}{}", DOC.replace('\n', "\r\n")));
    assert_eq!(at("\u{feff}a: 1\n", "/a", Target::Key), Some((1, 1)));
}

#[test]
fn modeline_on_line_one() {
    let source = "# yaml-language-server: $schema=https://x/s.json\nversion: 2\n";
    assert_eq!(at(source, "/version", Target::Key), Some((2, 1)));
    assert_eq!(at(source, "/version", Target::Value), Some((2, 10)));
    assert_eq!(at(source, "", Target::Value), Some((2, 1)));
}

#[test]
fn pointer_steps_unescapes_and_finds_indexes() {
    use Step::{Index, Key};
    let key = |s: &str| Key(s.to_owned());
    assert_eq!(pointer_steps(""), vec![]);
    assert_eq!(pointer_steps("/"), vec![key("")]);
    assert_eq!(
        pointer_steps("/a/0/b~1c/~01/01/17/-1"),
        vec![
            key("a"),
            Index(0),
            key("b/c"),
            key("~1"),
            key("01"),
            Index(17),
            key("-1")
        ]
    );
    assert_eq!(
        pointer_steps("/99999999999999999999999"),
        vec![key("99999999999999999999999")]
    );
}

#[test]
fn numeric_keys_and_indexes_are_interchangeable() {
    let map = "10: ten\n'1': one\n";
    assert_eq!(
        locate(map, &[Step::Index(1)], Target::Key),
        Some(Location { line: 2, column: 1 })
    );
    assert_eq!(
        locate(map, &[Step::Index(10)], Target::Value),
        Some(Location { line: 1, column: 5 })
    );
    let seq = "- x\n- y\n";
    let key = |s: &str| vec![Step::Key(s.to_owned())];
    assert_eq!(
        locate(seq, &key("1"), Target::Value),
        Some(Location { line: 2, column: 3 })
    );
    // Not a canonical index, so it names no item: falls back to the sequence.
    assert_eq!(
        locate(seq, &key("01"), Target::Value),
        Some(Location { line: 1, column: 1 })
    );
}

#[test]
fn quoted_keys_compare_by_value() {
    let source = "\"a\": 1\n'b': 2\nc: 3\n\"d\\te\": 4\n";
    assert_eq!(at(source, "/a", Target::Value), Some((1, 6)));
    assert_eq!(at(source, "/b", Target::Value), Some((2, 6)));
    assert_eq!(at(source, "/c", Target::Value), Some((3, 4)));
    assert_eq!(
        locate(source, &[Step::Key("d\te".into())], Target::Key),
        Some(Location { line: 4, column: 1 })
    );
}

#[test]
fn flow_sequences_and_mappings() {
    let source = "a: [1, [2, 3], {b: [4, 5]}]\n";
    assert_eq!(at(source, "/a", Target::Value), Some((1, 4)));
    assert_eq!(at(source, "/a/1/1", Target::Value), Some((1, 12)));
    assert_eq!(at(source, "/a/2/b/1", Target::Value), Some((1, 24)));
    assert_eq!(at(source, "/a/2/b", Target::Key), Some((1, 17)));
    let multi_line = "x: {\n  y: [\n    1,\n    2\n  ]\n}\n";
    assert_eq!(at(multi_line, "/x/y/1", Target::Value), Some((4, 5)));
}

#[test]
fn aliases_are_not_expanded() {
    let source = "base: &b\n  x: 1\nuse: *b\n";
    assert_eq!(at(source, "/use/x", Target::Value), Some((3, 6)));
    assert_eq!(at(source, "/base/x", Target::Value), Some((2, 6)));
}

#[test]
fn only_the_first_document_is_searched() {
    let source = "---\na: 1\n---\nb: 2\n";
    assert_eq!(at(source, "/b", Target::Value), Some((2, 1)));
}

#[test]
fn empty_and_broken_documents() {
    assert_eq!(at("", "", Target::Value), Some((1, 1)));
    assert_eq!(at("# only a comment\n", "/a", Target::Value), Some((1, 1)));
    assert_eq!(at("]\n", "", Target::Value), None);
    // A syntax error after the path's target does not hide the target.
    assert_eq!(at("a: 1\nb: [\n", "/a", Target::Value), Some((1, 4)));
}

#[test]
fn duplicate_key_occurrences() {
    let source = "a: 1\nb:\n  c: 1\n  d: [c]\n  c: 2\na: 3\n";
    let b = [Step::Key("b".into())];
    assert_eq!(
        locate_key_occurrence(source, &b, "c", 0),
        Some(Location { line: 3, column: 3 })
    );
    assert_eq!(
        locate_key_occurrence(source, &b, "c", 1),
        Some(Location { line: 5, column: 3 })
    );
    assert_eq!(locate_key_occurrence(source, &b, "c", 2), None);
    assert_eq!(
        locate_key_occurrence(source, &[], "a", 1),
        Some(Location { line: 6, column: 1 })
    );
    assert_eq!(
        locate_key_occurrence(source, &[Step::Key("x".into())], "c", 0),
        None
    );
    assert_eq!(
        locate_key_occurrence(source, &[Step::Key("a".into())], "c", 0),
        None
    );
}

#[test]
fn block_scalar_positions() {
    let source = "a: |+2\n\n  text\nb: >\n\n\nc: - x\n";
    assert_eq!(
        at("a: |\n  | not a header\n", "/a", Target::Value),
        Some((1, 4))
    );
    assert_eq!(at(source, "/a", Target::Value), Some((1, 4)));
    assert_eq!(at(source, "/b", Target::Value), Some((4, 4)));
    assert_eq!(at("k: |", "/k", Target::Value), Some((1, 4)));
    assert_eq!(at("- >\n  x\n- |\n", "/1", Target::Value), Some((3, 3)));
}

#[test]
fn unindented_sequences_point_at_their_dash() {
    let source = "a:\n-   x\nb:\n-\n  y\nc:\n  - z\n";
    assert_eq!(at(source, "/a", Target::Value), Some((2, 1)));
    assert_eq!(at(source, "/a/0", Target::Value), Some((2, 5)));
    assert_eq!(at(source, "/b", Target::Value), Some((4, 1)));
    assert_eq!(at(source, "/c", Target::Value), Some((7, 3)));
}

#[test]
fn deep_flow_nesting_does_not_overflow() {
    let depth = 10_000;
    let source = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let path = vec![Step::Index(0); depth];
    // yaml-rust2 caps flow nesting at 255 levels, so this is a parse error, not a crash.
    assert_eq!(locate(&source, &path, Target::Value), None);
    let depth = 200;
    let source = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let path = vec![Step::Index(0); depth - 1];
    assert_eq!(
        locate(&source, &path, Target::Value),
        Some(Location {
            line: 1,
            column: depth
        })
    );
}

#[test]
fn deep_block_nesting_does_not_overflow() {
    // Block mappings nested through their values need growing indentation, so this input
    // is ~50 MB; it is parsed once because that takes seconds in a debug build.
    let depth = 10_000;
    let mut source = String::new();
    for level in 0..depth {
        source.push_str(&" ".repeat(level));
        source.push_str("k:\n");
    }
    source.push_str(&" ".repeat(depth));
    source.push_str("end\n");
    let path = vec![Step::Key("k".into()); depth];
    assert_eq!(
        locate(&source, &path, Target::Value),
        Some(Location {
            line: depth + 1,
            column: depth + 1
        })
    );
}

#[test]
fn deep_compact_block_nesting_does_not_overflow() {
    let depth = 10_000;
    let sequences = format!("{}x\n", "- ".repeat(depth));
    let path = vec![Step::Index(0); depth];
    assert_eq!(
        locate(&sequences, &path, Target::Value),
        Some(Location {
            line: 1,
            column: 2 * depth + 1
        })
    );
    // Mappings nested as explicit keys: the path cannot enter them, but skipping over
    // them to reach the next entry must not recurse either.
    let keys = format!("{}x\nafter: 1\n", "? ".repeat(depth));
    assert_eq!(at(&keys, "/after", Target::Value), Some((2, 8)));
    assert_eq!(
        locate_key_occurrence(&keys, &[], "after", 0),
        Some(Location { line: 2, column: 1 })
    );
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        "[a-c0-2]{0,2}".prop_map(Step::Key),
        (0usize..4).prop_map(Step::Index),
        any::<String>().prop_map(Step::Key),
        any::<usize>().prop_map(Step::Index),
    ]
}

fn arb_source() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        // Mostly YAML punctuation, so inputs get deep into the parser instead of failing early.
        "[-:{}\\[\\],#|>&*!?'\"%@` \t\r\n\u{feff}ab0-2+.~]{0,80}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_input_never_panics(
        source in arb_source(),
        path in proptest::collection::vec(arb_step(), 0..6),
        key in "[a-c0-2]{0,2}",
        occurrence in 0usize..3,
    ) {
        let located = locate(&source, &path, Target::Key);
        let value = locate(&source, &path, Target::Value);
        prop_assert_eq!(located.is_some(), value.is_some());
        for location in [located, value].into_iter().flatten() {
            prop_assert!(location.line >= 1 && location.column >= 1);
        }
        let _ = locate_key_occurrence(&source, &path, &key, occurrence);
    }

    #[test]
    fn pointer_steps_never_panics(pointer in any::<String>()) {
        let _ = pointer_steps(&pointer);
    }
}

#[test]
fn finds_the_second_occurrence_of_a_duplicate_key() {
    let text = "a: 1\nb:\n  c: 1\n  a: 2\n  c: 3\n";
    assert_eq!(
        find_duplicate_key(text, "c"),
        Some(Location { line: 5, column: 3 })
    );
    assert_eq!(find_duplicate_key(text, "a"), None);
    let flow = "x: {k: 1, k: 2}\n";
    assert_eq!(
        find_duplicate_key(flow, "k"),
        Some(Location {
            line: 1,
            column: 11
        })
    );
    // A key equal to a value elsewhere is not a duplicate.
    assert_eq!(find_duplicate_key("a: b\nb: 1\n", "b"), None);
}

#[test]
fn a_mark_past_the_end_of_input_stays_on_the_last_line() {
    // yaml-rust2 marks the absent root value on line 3 of this two-line text.
    assert_eq!(at("&-2 # -a\n #b`a{", "", Target::Value), Some((2, 7)));
    // An absent value is reported at its key, as everywhere.
    assert_eq!(at("a: &x", "/a", Target::Value), Some((1, 1)));
}
