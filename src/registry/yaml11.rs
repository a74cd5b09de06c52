//! Writing YAML that YAML 1.1 readers read the same way.
//!
//! serde_yaml writes YAML 1.2: it quotes a string only where the 1.2 core
//! schema would read something else (`'true'`, `'1.5'`). Python's PyYAML,
//! which most ML code reads YAML with, still resolves plain scalars by YAML
//! 1.1's rules, where `yes`, `on`, `No`, `2026-01-01`, `1_000`, `1:20`,
//! `0b101`, `<<` and `=` are booleans, numbers, dates or special keys. So a
//! run whose param `optimizer` is the string `on` would read back as `True`.
//! After serde_yaml has written a file, every plain scalar that a YAML 1.1
//! resolver would not read as a string (but serde_yaml meant as one: it
//! is plain, so 1.2 reads it as a string) is single-quoted. Values serde_yaml
//! writes as numbers or booleans (`0.93`, `5`, `true`) read the same in both.

use regex::Regex;
use std::sync::LazyLock;

/// PyYAML's implicit resolvers (`yaml/resolver.py`), plus `y`/`n`, which the
/// YAML 1.1 spec lists as booleans and other 1.1 readers (Go's yaml.v2)
/// resolve. Anchored: the whole scalar must match.
static YAML11_NON_STRINGS: LazyLock<Regex> = LazyLock::new(|| {
    let bool =
        r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|y|Y|n|N";
    let float = r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)";
    let int = r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+";
    let null = r"~|null|Null|NULL|";
    let timestamp = r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?";
    let special = r"<<|=";
    let pattern = format!("^(?:{bool}|{float}|{int}|{null}|{timestamp}|{special})$");
    // The pattern is a constant; a test compiles it.
    Regex::new(&pattern).unwrap_or_else(|e| unreachable!("YAML 1.1 pattern: {e}"))
});

/// Whether a YAML 1.1 reader would read `text`, written as a plain scalar,
/// as something other than that string.
pub fn is_ambiguous(text: &str) -> bool {
    YAML11_NON_STRINGS.is_match(text)
}

/// Whether any string (key or value) in `value` is [`is_ambiguous`]: most
/// files have none, and then the text serde_yaml wrote is kept untouched.
pub fn has_ambiguous_strings(value: &serde_yaml::Value) -> bool {
    use serde_yaml::Value;
    match value {
        Value::String(s) => is_ambiguous(s),
        Value::Sequence(items) => items.iter().any(has_ambiguous_strings),
        Value::Mapping(map) => map
            .iter()
            .any(|(k, v)| has_ambiguous_strings(k) || has_ambiguous_strings(v)),
        Value::Tagged(tagged) => has_ambiguous_strings(&tagged.value),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// `text` (as serde_yaml wrote it) with every ambiguous plain scalar, key or
/// value, single-quoted. A text yaml-rust2 cannot parse is returned as it is
/// (serde_yaml's own output always parses).
pub fn quote_ambiguous(text: &str) -> String {
    use yaml_rust2::parser::{Event, Parser};
    use yaml_rust2::scanner::TScalarStyle;
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    // Byte ranges of the plain scalars to quote, in text order.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    loop {
        let Ok((event, mark)) = parser.next_token() else {
            return text.to_owned();
        };
        match event {
            Event::Scalar(value, TScalarStyle::Plain, _, None)
                if is_ambiguous(&value) && reads_as_string(&value) =>
            {
                // yaml-rust2 counts lines from 1 and columns (in chars) from 0.
                let Some(&line_start) = line_starts.get(mark.line().saturating_sub(1)) else {
                    return text.to_owned();
                };
                let line = &text[line_start..];
                let Some(offset) = line
                    .char_indices()
                    .nth(mark.col())
                    .map(|(i, _)| line_start + i)
                else {
                    return text.to_owned();
                };
                if !text[offset..].starts_with(value.as_str()) {
                    // Not written on one line as it reads: leave the file
                    // as serde_yaml wrote it rather than guess.
                    return text.to_owned();
                }
                ranges.push((offset, offset + value.len()));
            }
            Event::StreamEnd => break,
            _ => {}
        }
    }
    let mut out = String::with_capacity(text.len() + 2 * ranges.len());
    let mut done = 0;
    for (start, end) in ranges {
        out.push_str(&text[done..start]);
        out.push('\'');
        out.push_str(&text[start..end]);
        out.push('\'');
        done = end;
    }
    out.push_str(&text[done..]);
    out
}

/// Whether serde_yaml reads the plain scalar `text` as a string: plain
/// `true`, `5`, `0.93` and `null` are what serde_yaml wrote for a boolean,
/// a number or nothing, and stay as they are.
fn reads_as_string(text: &str) -> bool {
    matches!(
        serde_yaml::from_str::<serde_yaml::Value>(text),
        Ok(serde_yaml::Value::String(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_booleans_numbers_dates_and_specials_are_ambiguous() {
        for text in [
            "yes",
            "No",
            "ON",
            "off",
            "y",
            "N",
            "true",
            "2026-01-01",
            "2026-01-01 10:00:00",
            "2026-11-29T11:34:49Z",
            "1_000",
            "1:20",
            "0b101",
            "017",
            "0x1F",
            ".5",
            "+1",
            "1.0",
            "-0",
            ".inf",
            ".NaN",
            "~",
            "null",
            "",
            "<<",
            "=",
            "1.0e+3",
        ] {
            assert!(is_ambiguous(text), "{text:?}");
        }
        for text in [
            "adam",
            "1e3",
            "yes please",
            "0o17",
            "v1",
            "2026-1-1x",
            "1.2.3",
        ] {
            assert!(!is_ambiguous(text), "{text:?}");
        }
    }

    #[test]
    fn quotes_ambiguous_plain_keys_and_values_only() {
        let text = "params:\n  on: yes\n  lr: 0.1\n  when: 2026-01-01\n  'No': 'x'\nnote: hé 1_000\nn: 5\nlist:\n- y\n- ok\n- true\n- 0.5\n- null\n";
        assert_eq!(
            quote_ambiguous(text),
            "params:\n  'on': 'yes'\n  lr: 0.1\n  when: '2026-01-01'\n  'No': 'x'\nnote: hé 1_000\n'n': 5\nlist:\n- 'y'\n- ok\n- true\n- 0.5\n- null\n"
        );
    }

    #[test]
    fn finds_scalars_after_non_ascii_text() {
        assert_eq!(quote_ambiguous("é: {ü: on}\n"), "é: {ü: 'on'}\n");
    }
}
