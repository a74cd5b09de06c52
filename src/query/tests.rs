//! Unit tests of [`super`].
use super::*;
use proptest::prelude::*;
use std::collections::HashMap;

fn num(v: f64) -> FieldValue {
    FieldValue::Number(v)
}

fn text(v: &str) -> FieldValue {
    FieldValue::Text(v.to_string())
}

/// A typical run record.
fn record() -> HashMap<String, FieldValue> {
    [
        ("name", text("resnet-50")),
        ("status", text("finished")),
        ("source.branch", text("main")),
        ("metrics.accuracy", num(0.93)),
        ("metrics.val/loss", num(0.2)),
        ("metrics.train/loss-ema.v2", num(0.4)),
        ("metrics.val loss", num(0.3)),
        ("params.lr", text("0.001")),
        ("params.epochs", num(10.0)),
        ("params.optimizer", text("adam")),
        ("params.my key", text("x")),
        ("tags.team", text("vision")),
        ("tags.production", FieldValue::Bool(true)),
        ("tags.flag", text("false")),
        ("start_time", text("2026-11-26T18:10:05Z")),
        ("user", text("alice")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn eval_with(source: &str, fields: &HashMap<String, FieldValue>) -> bool {
    let query = Query::parse(source).unwrap_or_else(|e| panic!("{source:?}: {e}"));
    query.matches(&|path| fields.get(path).cloned())
}

fn eval(source: &str) -> bool {
    eval_with(source, &record())
}

fn err(source: &str) -> QueryError {
    match Query::parse(source) {
        Ok(q) => panic!("{source:?} parsed unexpectedly as {q:?}"),
        Err(e) => e,
    }
}

/// Asserts the error's column and that its message contains `needle`.
fn assert_err(source: &str, column: usize, needle: &str) {
    let e = err(source);
    assert_eq!(e.column, column, "{source:?}: {e}");
    assert!(
        e.message.contains(needle),
        "{source:?}: {:?} lacks {needle:?}",
        e.message
    );
}

fn bools(a: bool, b: bool, c: bool) -> HashMap<String, FieldValue> {
    [("a", a), ("b", b), ("c", c)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), FieldValue::Bool(v)))
        .collect()
}

#[test]
fn examples_from_the_docs() {
    assert!(eval(
        r#"metrics.accuracy > 0.9 and params.optimizer == "adam""#
    ));
    assert!(eval(r#"not (status == "failed") or tags.team == 'vision'"#));
    assert!(eval("metrics.val/loss <= 0.25 and params.lr < 1e-2"));
    assert!(!eval("metrics.val/loss <= 0.25 and params.lr < 1e-3"));
}

#[test]
fn and_binds_tighter_than_or() {
    assert_eq!(Query::parse("a or b and c"), Query::parse("a or (b and c)"));
    assert_ne!(Query::parse("a or b and c"), Query::parse("(a or b) and c"));
    // a=true, b=false, c=false: `a or (b and c)` is true, `(a or b) and c` would be false.
    let fields = bools(true, false, false);
    assert!(eval_with("a == true or b == true and c == true", &fields));
    assert!(!eval_with(
        "(a == true or b == true) and c == true",
        &fields
    ));
    let fields = bools(false, true, false);
    assert!(!eval_with("a == true or b == true and c == true", &fields));
}

#[test]
fn not_binds_tighter_than_and_but_looser_than_comparison() {
    assert_eq!(Query::parse("not a and b"), Query::parse("(not a) and b"));
    assert_eq!(Query::parse("not a == 1"), Query::parse("not (a == 1)"));
    let fields = bools(false, true, false);
    assert!(eval_with("not a == true and b == true", &fields));
    assert!(!eval_with("not (a == false and b == true)", &fields));
    assert!(eval_with("not not b == true", &fields));
    assert!(!eval("not tags.production"));
}

#[test]
fn parentheses_group() {
    let fields = bools(false, true, true);
    assert!(eval_with("(a == true or b == true) and c == true", &fields));
    assert!(eval_with("((((b == true))))", &fields));
    assert!(!eval_with(
        "(a == true or (b == true and c == false))",
        &fields
    ));
}

#[test]
fn keyword_spellings_and_symbols() {
    let fields = bools(true, false, true);
    for source in [
        "a == true AND NOT b == true",
        "a == TRUE && !b == true",
        "a == True And Not c == false",
    ] {
        assert!(eval_with(source, &fields), "{source}");
    }
    assert!(eval_with("b == true || c == true", &fields));
    assert!(eval_with("b == true OR c == true", &fields));
    assert!(eval_with("!(b == true)", &fields));
    // Keywords are not field names.
    assert_err("and == 1", 1, "expected a condition, found `and`");
    assert!(Query::parse("android == 1").is_ok());
    assert!(Query::parse("nothing").is_ok());
}

#[test]
fn number_operators() {
    let cases = [
        ("==", [false, true, false]),
        ("!=", [true, false, true]),
        ("<", [true, false, false]),
        ("<=", [true, true, false]),
        (">", [false, false, true]),
        (">=", [false, true, true]),
    ];
    for (op, expected) in cases {
        for (value, want) in [10.5, 10.0, 9.0].into_iter().zip(expected) {
            // params.epochs is 10
            let source = format!("params.epochs {op} {value}");
            assert_eq!(eval(&source), want, "{source}");
            // Flipping the sides mirrors the operator.
            let mirrored = match op {
                "<" => ">",
                "<=" => ">=",
                ">" => "<",
                ">=" => "<=",
                other => other,
            };
            let source = format!("{value} {mirrored} params.epochs");
            assert_eq!(eval(&source), want, "{source}");
        }
    }
    assert!(eval("0.9 < metrics.accuracy"));
    assert!(eval("metrics.accuracy == 0.93"));
    assert!(eval("metrics.accuracy > -2.5"));
    assert!(eval("params.epochs == 1e1 and params.epochs == 1E+1"));
}

#[test]
fn string_operators() {
    assert!(eval(r#"params.optimizer == "adam""#));
    assert!(!eval(r#"params.optimizer == "Adam""#));
    assert!(eval(r#"params.optimizer != "sgd""#));
    assert!(eval(
        r#"params.optimizer < "b" and params.optimizer >= "adam""#
    ));
    assert!(!eval(
        r#"params.optimizer > "b" or params.optimizer <= "ada""#
    ));
    assert!(eval("name =~ 'net-5'"));
    assert!(!eval("name =~ 'vgg'"));
    assert!(eval("'a longer string' =~ 'long'"));
    // =~ is for strings only.
    assert!(!eval("metrics.accuracy =~ '0.9'"));
    assert!(!eval("tags.production =~ 'tr'"));
}

#[test]
fn string_escapes() {
    let fields: HashMap<String, FieldValue> = [("x".to_string(), text("say \"hi\"\n\t'a\\b'"))]
        .into_iter()
        .collect();
    assert!(eval_with(r#"x == "say \"hi\"\n\t'a\\b'""#, &fields));
    assert!(eval_with(r#"x == 'say "hi"\n\t\'a\\b\''"#, &fields));
}

#[test]
fn params_strings_compare_numerically() {
    assert!(eval("params.lr == 0.001"));
    assert!(eval("params.lr == 1e-3"));
    assert!(eval("params.lr < 1e-2 and params.lr > 0"));
    assert!(eval("0.01 > params.lr"));
    assert!(!eval("params.lr != 0.001"));
    // A non-numeric text is never equal to or ordered with a number.
    assert!(!eval("params.optimizer == 1"));
    assert!(eval("params.optimizer != 1"));
    assert!(!eval("params.optimizer < 1"));
    assert!(!eval("params.optimizer >= 1"));
    // Text vs text stays textual: "0.001" is not "1e-3".
    assert!(!eval("params.lr == '1e-3'"));
}

#[test]
fn booleans() {
    assert!(eval("tags.production == true"));
    assert!(eval("tags.production != false"));
    assert!(eval("tags.production == 'true'"));
    assert!(eval("tags.flag == false"));
    assert!(!eval("tags.flag == true"));
    // Against a non-boolean text or a number: unequal.
    assert!(!eval("tags.production == 'yes'"));
    assert!(eval("tags.production != 'yes'"));
    assert!(!eval("tags.production == 1"));
    assert!(eval("tags.production != 1"));
    // Ordering a boolean field against a non-literal is simply false.
    assert!(!eval("tags.production > tags.flag"));
}

#[test]
fn comparing_two_literals_is_allowed() {
    assert!(eval("1 == 1"));
    assert!(eval("'a' < 'b'"));
    assert!(!eval("true == false"));
    assert!(eval("'2.5' == 2.5"));
}

#[test]
fn missing_fields() {
    assert!(!eval("metrics.x > 1"));
    assert!(!eval("metrics.x < 1"));
    assert!(!eval("metrics.x == 1"));
    assert!(!eval("metrics.x != 1"));
    assert!(!eval("metrics.x =~ 'a'"));
    assert!(!eval("1 != metrics.x"));
    assert!(eval("not metrics.x > 1"));
    assert!(!eval("metrics.x"));
    assert!(eval("not metrics.x"));
    assert!(eval("metrics.x > 1 or metrics.accuracy > 0.5"));
}

#[test]
fn bare_field_means_exists() {
    assert!(eval("tags.production"));
    assert!(eval("tags.flag")); // exists even though its value is "false"
    assert!(eval("name and source.branch"));
    assert!(!eval("tags.missing"));
}

#[test]
fn keys_with_slashes_dashes_and_dots() {
    assert!(eval("metrics.val/loss == 0.2"));
    assert!(eval("metrics.train/loss-ema.v2 == 0.4"));
    assert!(eval("source.branch == 'main'"));
    // No spaces needed around operators.
    assert!(eval("metrics.val/loss<=0.25&&metrics.val/loss>-1"));
    let q = Query::parse("metrics.train/loss-ema.v2 > 0").unwrap();
    assert_eq!(q.fields(), ["metrics.train/loss-ema.v2"]);
}

#[test]
fn bracketed_keys() {
    assert!(eval(r#"metrics["val loss"] == 0.3"#));
    assert!(eval("params['my key'] == 'x'"));
    assert!(eval(r#"metrics["val/loss"] == metrics.val/loss"#));
    let q = Query::parse(r#"a["b c"]['d \'e\''] and x.y["z"]"#).unwrap();
    assert_eq!(q.fields(), ["a.b c.d 'e'", "x.y.z"]);
}

#[test]
fn lookup_receives_paths_as_written() {
    let seen = std::cell::RefCell::new(Vec::new());
    let q = Query::parse(r#"metrics.accuracy > 1 or params["my key"] or source.branch == 'x'"#)
        .unwrap();
    let matched = q.matches(&|path| {
        seen.borrow_mut().push(path.to_string());
        None
    });
    assert!(!matched);
    assert_eq!(
        *seen.borrow(),
        ["metrics.accuracy", "params.my key", "source.branch"]
    );
}

#[test]
fn fields_in_order_deduplicated() {
    let q = Query::parse("b > 1 and (a == 2 or 3 < b) and not c and a =~ 'x' and 1 == 1").unwrap();
    assert_eq!(q.fields(), ["b", "a", "c"]);
    assert!(Query::parse("1 == 1").unwrap().fields().is_empty());
}

#[test]
fn from_str_matches_parse() {
    let q: Query = "name == 'x'".parse().unwrap();
    assert_eq!(Some(q), Query::parse("name == 'x'").ok());
    assert_eq!("".parse::<Query>().unwrap_err().message, "empty expression");
}

#[test]
fn error_empty_expression() {
    assert_err("", 1, "empty expression");
    assert_err("   \t\n ", 1, "empty expression");
}

#[test]
fn error_unterminated_string() {
    assert_err(r#"name == "abc"#, 9, "unterminated string");
    assert_err("name == 'abc\\'", 9, "unterminated string");
    assert_err(r#"metrics["val loss] > 1"#, 9, "unterminated string");
}

#[test]
fn error_bad_escape() {
    assert_err(r#"name == "a\qb""#, 11, "unknown escape `\\q`");
}

#[test]
fn error_unexpected_character() {
    assert_err("metrics.accuracy > ０.9", 20, "unexpected character `０`");
    assert_err("name == 'é' and x # 1", 19, "unexpected character `#`");
    assert_err("a == 1 @", 8, "unexpected character `@`");
    assert_err("a = `x`", 5, "back quotes go around a key after `.`");
    assert_err("a == 1 & b", 8, "use `&&`");
    assert_err("a == 1 | b", 8, "use `||`");
    assert_err("a > .5", 5, "must start with a digit");
    assert_err("a > -b", 5, "unexpected character `-`");
    assert_err("a == \u{1}", 6, "`\\u{1}`");
}

#[test]
fn error_bad_field_syntax() {
    assert_err("metrics. > 1", 9, "expected a field key after `.`");
    assert_err("metrics[val] > 1", 9, "expected a quoted key after `[`");
    assert_err(
        "metrics['val' > 1",
        14,
        "expected `]` to close `[` at column 8",
    );
    assert_err("true.x", 5, "unexpected character `.`");
}

#[test]
fn error_bad_numbers() {
    assert_err("a > 1.2.3", 5, "invalid number `1.2.3`");
    assert_err("a > 1e", 5, "invalid number `1e`");
    assert_err("a > 12abc", 5, "invalid number `12abc`");
    assert_err("a > 1e999", 5, "out of range");
}

#[test]
fn error_expected_value_after_operator() {
    let e = err("metrics.acc > > 3");
    assert_eq!(
        (e.column, e.message.as_str()),
        (15, "expected a value after `>`")
    );
    assert_err("metrics.acc >", 14, "expected a value after `>`");
    assert_err("metrics.acc >=   ", 15, "expected a value after `>=`");
    assert_err("a == (1)", 6, "expected a value after `==`");
    assert_err("a =~ and", 6, "expected a value after `=~`");
}

#[test]
fn error_expected_condition() {
    assert_err("a and", 6, "expected a condition after `and`");
    assert_err("not", 4, "expected a condition after `not`");
    assert_err("a or )", 6, "expected a condition after `or`, found `)`");
    assert_err("()", 2, "expected a condition after `(`, found `)`");
    assert_err("== 1", 1, "expected a condition, found `==`");
}

#[test]
fn error_missing_close_paren() {
    assert_err("(a == 1", 8, "expected `)` to close `(` at column 1");
    assert_err("(a == 1 b", 9, "expected `)` to close `(` at column 1");
    assert_err(
        "x and ((a == 1) ",
        16,
        "expected `)` to close `(` at column 7",
    );
}

#[test]
fn error_trailing_input() {
    let e = err("a == 1 foo");
    assert_eq!(
        (e.column, e.message.as_str()),
        (8, "unexpected `foo` after a complete expression")
    );
    assert_err("a == 1)", 7, "unmatched `)`");
    assert_err("a 'x'", 3, "unexpected `'x'` after a complete expression");
    assert_err("a < b < c", 7, "comparisons cannot be chained");
}

#[test]
fn error_literal_alone() {
    assert_err("3", 1, "expected a comparison");
    assert_err("a == 1 and 'x'", 12, "expected a comparison");
    assert_err("not true", 5, "expected a comparison");
}

#[test]
fn operators_a_type_does_not_support_are_false() {
    // Booleans are never ordered and `=~` needs two strings; only `!=` holds.
    assert!(!eval("tags.production > true") && !eval("tags.production <= true"));
    assert!(!eval("true >= true"));
    assert!(!eval("name =~ 3") && !eval("3 =~ '3'"));
    assert!(eval("tags.production != 1") && eval("name != true"));
}

#[test]
fn nesting_is_limited() {
    let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(Query::parse(&ok).is_ok());
    let too_deep = format!(
        "{}a{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert_err(&too_deep, MAX_DEPTH + 1, "nested too deeply");
    assert_err(
        &"not ".repeat(MAX_DEPTH + 1),
        4 * MAX_DEPTH + 1,
        "nested too deeply",
    );
    assert_err(&"!(".repeat(MAX_DEPTH), MAX_DEPTH + 1, "nested too deeply");
    // Huge inputs error out rather than overflowing the stack.
    assert_err(&"(".repeat(200_000), MAX_DEPTH + 1, "nested too deeply");
}

#[test]
fn long_flat_chains_do_not_nest() {
    let source = vec!["metrics.accuracy > 0.5"; 50_000].join(" and ");
    assert!(eval(&source));
    let source = vec!["metrics.x"; 50_000].join(" || ");
    assert!(!eval(&source));
    assert_eq!(Query::parse(&source).unwrap().fields(), ["metrics.x"]);
}

#[test]
fn display_and_render() {
    let source = "metrics.acc > > 3";
    let e = err(source);
    assert_eq!(e.to_string(), "expected a value after `>` at column 15");
    assert_eq!(
        e.render(source),
        "metrics.acc > > 3\n              ^ expected a value after `>`"
    );
    // End of input: the caret goes just past the last token.
    let e = err("a >");
    assert_eq!(e.render("a >"), "a >\n   ^ expected a value after `>`");
}

#[test]
fn render_aligns_wide_chars_tabs_and_lines() {
    let source = "name == '日本' and ０";
    let e = err(source);
    assert_eq!(e.column, 18);
    assert_eq!(
        e.render(source),
        format!("{source}\n{}^ unexpected character `０`", " ".repeat(19))
    );
    let source = "a ==\t1 @";
    assert_eq!(
        err(source).render(source),
        "a ==\t1 @\n    \t  ^ unexpected character `@`"
    );
    let source = "a == 1\nand b >\n and c";
    let e = err(source);
    assert_eq!(
        (e.column, e.render(source).as_str()),
        (17, " and c\n ^ expected a value after `>`")
    );
}

#[test]
fn render_tolerates_any_column() {
    let e = QueryError {
        column: 100,
        message: "boom".to_string(),
    };
    assert_eq!(e.render("ab"), "ab\n  ^ boom");
    let e = QueryError {
        column: 0,
        message: "x".to_string(),
    };
    assert_eq!(e.render(""), "\n^ x");
}

proptest! {
    #[test]
    fn parsing_arbitrary_text_never_panics(source in "\\PC{0,80}") {
        check_no_panic(&source);
    }

    #[test]
    fn parsing_query_like_text_never_panics(
        source in r#"([ a-z0-9_.\-/()<>=!~&|'"\\\[\]]|and |or |not |true|false|metrics\.x|０|é){0,40}"#
    ) {
        check_no_panic(&source);
    }
}

fn check_no_panic(source: &str) {
    match Query::parse(source) {
        Ok(query) => {
            let values = [
                None,
                Some(num(1.0)),
                Some(text("a")),
                Some(FieldValue::Bool(true)),
            ];
            for value in values {
                let _ = query.matches(&|_| value.clone());
            }
            assert!(query.fields().iter().all(|f| !f.is_empty()));
        }
        Err(e) => {
            assert!(
                e.column >= 1 && e.column <= source.chars().count() + 1,
                "{e}"
            );
            assert!(!e.message.is_empty());
            assert!(e.render(source).contains('^'));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// MLflow's search syntax

#[test]
fn mlflow_equality_and_and() {
    assert!(eval("params.optimizer = 'adam' AND metrics.accuracy > 0.9"));
    assert!(!eval("params.optimizer = 'sgd' AND metrics.accuracy > 0.9"));
    assert!(eval("params.lr = '0.001'"));
    // `=` and `==` are the same comparison.
    assert_eq!(
        Query::parse("a = 1").unwrap(),
        Query::parse("a == 1").unwrap()
    );
}

#[test]
fn mlflow_like_and_ilike() {
    assert!(eval("name LIKE 'resnet%'"));
    assert!(eval("name LIKE '%net-__'"));
    assert!(!eval("name LIKE 'ResNet%'"), "LIKE is case-sensitive");
    assert!(eval("name ILIKE 'ResNet%'"));
    assert!(eval("name like '%' and name like '%%-50'"));
    assert!(!eval("name LIKE 'resnet'"), "no wildcard: the whole text");
    assert!(eval("name NOT LIKE 'vgg%'"));
    assert!(!eval("metrics.accuracy LIKE '0.9%'"), "text only");
    // A missing field matches neither form, as in SQL.
    assert!(!eval("tags.missing LIKE '%'"));
    assert!(!eval("tags.missing NOT LIKE 'x'"));
    assert!(eval("not tags.missing LIKE 'x'"));
}

#[test]
fn like_matching_is_exact_and_never_exponential() {
    use super::eval::like;
    assert!(like("", "", false));
    assert!(like("", "%", false));
    assert!(!like("", "_", false));
    assert!(like("abc", "a_c", false));
    assert!(like("abc", "%b%", false));
    assert!(!like("abc", "%d%", false));
    assert!(like("aXbXc", "a%b%c", false));
    assert!(like("ÄBC", "äbc", true));
    assert!(like("100%", "100%", false));
    // Many `%` against a long text that does not match: quick.
    let text = "a".repeat(2000);
    assert!(!like(&text, &format!("{}b", "%a".repeat(50)), false));
}

#[test]
fn mlflow_in_lists() {
    assert!(eval("params.optimizer IN ('sgd', 'adam')"));
    assert!(!eval("params.optimizer IN ('sgd')"));
    assert!(eval("params.optimizer NOT IN ('sgd', \"rmsprop\")"));
    assert!(eval("params.epochs in (5, 10)"));
    assert!(eval("params.lr IN (0.001)"), "params compare as numbers");
    assert!(!eval("tags.missing IN ('a')"));
    assert!(!eval("tags.missing NOT IN ('a')"));
}

#[test]
fn mlflow_is_null() {
    assert!(eval("tags.missing IS NULL"));
    assert!(!eval("tags.team IS NULL"));
    assert!(eval("tags.team IS NOT NULL"));
    assert!(eval("metrics.accuracy is not null and tags.x is null"));
}

#[test]
fn mlflow_names_resolve_to_regent_fields() {
    assert!(eval("metric.accuracy > 0.9"));
    assert!(eval("param.optimizer = 'adam' and parameters.lr < 0.01"));
    assert!(eval("tag.team = 'vision'"));
    assert!(eval("attributes.status = 'FINISHED'"));
    assert!(eval(
        "attribute.status != 'FAILED' and run.status IN ('FINISHED')"
    ));
    assert!(
        !eval("attributes.status = 'finished'"),
        "MLflow's upper case"
    );
    assert!(eval("attributes.run_name = 'resnet-50'"));
    assert!(eval("tags.`mlflow.runName` = 'resnet-50'"));
    assert!(eval("tags.\"mlflow.runName\" LIKE 'res%'"));
    assert!(eval("tags.mlflow.user = 'alice'"));
    // 2026-11-26T18:10:05Z in milliseconds.
    assert!(eval("attributes.start_time = 1795716605000"));
    assert!(eval(
        "attributes.created > 1795716604999 and attr.start_time < 1795716605001"
    ));
    assert!(!eval("attributes.end_time > 0"), "no end time");
    assert_eq!(
        Query::parse("metric.a > 1 and attributes.status = 'X' and tags.`mlflow.user` = 'u'")
            .unwrap()
            .fields(),
        ["metrics.a", "status", "user"]
    );
    assert!(eval("params.`my key` = 'x'"));
}

#[test]
fn mlflow_syntax_errors_are_precise() {
    assert_err(
        "attributes.stats = 'FINISHED'",
        1,
        "did you mean `attributes.status`?",
    );
    assert_err("attributes.run_id = 'x'", 1, "is not a run attribute");
    assert_err("name LIKE 5", 11, "expected a quoted pattern after `LIKE`");
    assert_err("name ILIKE", 11, "expected a quoted pattern after `ILIKE`");
    assert_err("name IN 'a'", 9, "expected `(` after `IN`");
    assert_err("name IN ()", 10, "expected a value in the `IN` list");
    assert_err("name IN ('a' 'b')", 14, "expected `,` or `)`");
    assert_err("name IN ('a',", 14, "expected a value in the `IN` list");
    assert_err("name IS 1", 9, "expected `NULL` or `NOT NULL`");
    assert_err("name == NULL", 9, "test a field with `IS NULL`");
    assert_err("'a' LIKE 'b'", 1, "expected a field before `LIKE`");
    assert_err(
        "tags.`mlflow.runName = 'x'",
        6,
        "missing closing back quote",
    );
    assert_err("a == 1, b == 2", 7, "unexpected `,`");
}
