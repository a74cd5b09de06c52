//! Reading and writing registry YAML.
//!
//! Reading is defensive: a size cap before anything is read, UTF-8 checked
//! with a position, a cap on the number of nodes (counted by a streaming
//! pass, aliases as what they repeat) before serde_yaml builds any, serde_yaml's
//! own limits against alias bombs and deep nesting, and a conversion to JSON
//! values (for the schema) that refuses what JSON cannot hold (NaN,
//! infinities, tags, complex keys) with the path to it.

use crate::yaml_location::Step;
use serde::Serialize;

/// No registry file is legitimately this large; refusing early keeps memory bounded.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The most YAML nodes (mapping keys, values and sequence items; an alias
/// counts as every node it repeats) a registry file may hold.
///
/// serde_yaml keeps every parse event of a document (about 100 bytes each,
/// two per mapping or sequence) and then a tree of values, so memory follows
/// the number of nodes, not the bytes: a 16 MiB file of `[[],[],…]` has 5
/// million nodes and took 1.4 GB to read. Capped, reading any file takes at
/// most about 4 times its size plus 70 MB (see the README, "Files"). A real
/// registry file has hundreds of nodes; a run with a history has about 5 per
/// step (50,000 steps in all fit).
pub const MAX_NODES: usize = 250_000;

/// Where a YAML problem is: a position serde_yaml gave, or a path into the
/// document that the caller locates in the text.
#[derive(Debug, Clone, PartialEq)]
pub enum YamlError {
    At {
        line: usize,
        column: usize,
        message: String,
    },
    AtPath {
        path: Vec<Step>,
        message: String,
    },
    /// serde_yaml reports a duplicate key at the start of its mapping; the
    /// caller finds the second occurrence of `key` to point at.
    DuplicateKey {
        key: String,
        line: usize,
        column: usize,
    },
}

/// The modeline that makes editors (yaml-language-server) check a file.
pub fn modeline(schema_name: &str) -> String {
    format!(
        "# yaml-language-server: $schema={}",
        crate::schema::schema_id(schema_name)
    )
}

/// Serialises a registry file: modeline first, then the YAML. Deterministic:
/// the same value always gives the same bytes.
///
/// Strings a YAML 1.1 reader (PyYAML) would read as something else (`yes`,
/// `2026-01-01`) are quoted; see [`super::yaml11`].
pub fn to_yaml<T: Serialize>(schema_name: &str, value: &T) -> Result<String, serde_yaml::Error> {
    let value = serde_yaml::to_value(value)?;
    let mut body = serde_yaml::to_string(&value)?;
    if super::yaml11::has_ambiguous_strings(&value) {
        body = super::yaml11::quote_ambiguous(&body);
    }
    Ok(format!("{}\n{body}", modeline(schema_name)))
}

/// Checks size, encoding and the number of YAML nodes ([`MAX_NODES`]),
/// strips a BOM, and returns the text: the one way registry YAML is read.
pub fn text_of(bytes: &[u8]) -> Result<&str, YamlError> {
    let text = decode(bytes)?;
    count_nodes(text)?;
    Ok(text)
}

/// Checks size and encoding, strips a BOM, and returns the text (for JSON,
/// whose nodes [`count_json_nodes`] bounds instead).
pub fn decode(bytes: &[u8]) -> Result<&str, YamlError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            // The valid prefix is UTF-8 by definition; count lines and chars in it.
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            let line = prefix.matches('\n').count() + 1;
            let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            return Err(YamlError::At {
                line,
                column,
                message: format!(
                    "the file is not valid UTF-8 (byte 0x{:02x} at offset {})",
                    bytes[e.valid_up_to()],
                    e.valid_up_to()
                ),
            });
        }
    };
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// Refuses a YAML text with more than [`MAX_NODES`] nodes, located at the
/// node that passes the limit, before serde_yaml reads it.
///
/// A streaming pass of yaml-rust2's parser: one event at a time, nothing
/// kept but the open collections and the size of each anchored node, so it
/// costs time linear in the text and memory independent of it. A text of at
/// most `MAX_NODES / 2` bytes without a `*` (no alias) cannot hold more
/// nodes than that and is not scanned. Where yaml-rust2 finds a syntax error
/// it cannot count on: serde_yaml gets the text (and reports the error in
/// its own words) only if what follows cannot hold more nodes than allowed.
fn count_nodes(text: &str) -> Result<(), YamlError> {
    use yaml_rust2::parser::{Event, Parser};
    if text.len() < MAX_NODES / 2 && !text.contains('*') {
        return Ok(());
    }
    let at = |mark: &yaml_rust2::scanner::Marker, message: String| YamlError::At {
        line: mark.line().max(1),
        // yaml-rust2 counts columns from 0.
        column: mark.col() + 1,
        message,
    };
    let mut parser = Parser::new_from_str(text);
    let mut nodes: usize = 0;
    // Open collections: the count when each began and its anchor (0: none).
    let mut open: Vec<(usize, usize)> = Vec::new();
    // Anchor id -> the nodes an alias to it repeats.
    let mut anchored: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            Err(e) => {
                let mark = e.marker();
                let rest = text
                    .split_inclusive('\n')
                    .skip(mark.line().saturating_sub(1))
                    .map(str::len)
                    .sum::<usize>();
                let tail = &text[text.len() - rest..];
                // libyaml stops at an alias to no anchor too, having built
                // no more than was counted.
                let unknown_anchor = e.info().ends_with("found unknown anchor");
                if unknown_anchor || (!tail.contains('*') && nodes + 2 * rest + 2 <= MAX_NODES) {
                    return Ok(());
                }
                let message = match e.info() {
                    "recursion limit exceeded" => {
                        "nesting is too deep (more than 128 levels)".into()
                    }
                    info => format!("invalid YAML: {}", strip_positions(info)),
                };
                return Err(at(mark, message));
            }
        };
        let (added, alias) = match event {
            Event::Scalar(_, _, anchor, _) => {
                if anchor > 0 {
                    anchored.insert(anchor, 1);
                }
                (1, false)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                open.push((nodes, anchor));
                (1, false)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((start, anchor)) = open.pop()
                    && anchor > 0
                {
                    anchored.insert(anchor, nodes - start);
                }
                (0, false)
            }
            // An alias to a node still open (a cycle) counts once; serde_yaml
            // refuses it by its depth limit.
            Event::Alias(anchor) => (anchored.get(&anchor).copied().unwrap_or(1), true),
            Event::StreamEnd => return Ok(()),
            _ => (0, false),
        };
        nodes = nodes.saturating_add(added);
        if nodes > MAX_NODES {
            return Err(at(
                &mark,
                if alias {
                    "too many alias expansions (a YAML alias bomb?); registry files need no aliases"
                        .to_owned()
                } else {
                    format!(
                        "more than {} YAML nodes (keys, values and list items): registry files are summaries; keep long series such as per-step metrics elsewhere",
                        thousands(MAX_NODES)
                    )
                },
            ));
        }
    }
}

/// Refuses JSON text that may hold more than [`MAX_NODES`] nodes: an upper
/// bound (one node per `[`, `{`, `,` and `:` outside strings, plus one)
/// counted in one pass, before serde_json builds any.
pub fn count_json_nodes(text: &str) -> Result<(), YamlError> {
    let mut nodes: usize = 1;
    let (mut in_string, mut escaped) = (false, false);
    let (mut line, mut column) = (1, 0);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' | ',' | ':' => nodes += 1,
            _ => {}
        }
        if nodes > MAX_NODES {
            return Err(YamlError::At {
                line,
                column,
                message: format!(
                    "more than {} JSON values: keep long series such as per-step metrics elsewhere",
                    thousands(MAX_NODES)
                ),
            });
        }
    }
    Ok(())
}

/// `250000` -> `250,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The error for a file over [`MAX_FILE_BYTES`], for callers that see the size
/// before reading.
pub fn too_large(size: u64) -> YamlError {
    YamlError::At {
        line: 1,
        column: 1,
        message: format!(
            "the file is {:.1} MiB, more than the {} MiB allowed for a registry file",
            size as f64 / (1024.0 * 1024.0),
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    }
}

/// Parses YAML text into a JSON value (what the schemas judge).
pub fn parse_value(text: &str) -> Result<serde_json::Value, YamlError> {
    let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| syntax_error(e, text))?;
    let mut path = Vec::new();
    to_json(&value, &mut path)
}

fn syntax_error(e: serde_yaml::Error, text: &str) -> YamlError {
    let (line, column) = e
        .location()
        .map_or((1, 1), |l| within_text(text, l.line(), l.column()));
    let mut message = e.to_string();
    // serde_yaml prefixes nested errors with their path ("aliases: duplicate …")
    // and quotes string keys but not numbers.
    if let Some(rest) = message
        .find("duplicate entry with key ")
        .map(|i| &message[i + "duplicate entry with key ".len()..])
    {
        let key = match rest.strip_prefix('"') {
            Some(quoted) => quoted.split('"').next().unwrap_or_default(),
            None => rest.split_whitespace().next().unwrap_or_default(),
        };
        return YamlError::DuplicateKey {
            key: key.to_owned(),
            line,
            column,
        };
    }
    // The position is printed separately, as file:line:column; libyaml's
    // context mark ("while parsing a flow sequence at line 4 column 9")
    // would be a second one.
    message = strip_positions(&message);
    message = match message.as_str() {
        "repetition limit exceeded" => {
            "too many alias expansions (a YAML alias bomb?); registry files need no aliases".into()
        }
        "deserializing from YAML containing more than one document is not supported" => {
            "a registry file holds exactly one YAML document (remove the `---` separators)".into()
        }
        m if m.starts_with("recursion limit exceeded") => {
            "nesting is too deep (more than 128 levels)".into()
        }
        // serde_yaml reads integers past 64 bits as 128-bit ones it cannot
        // hold, and says so in its own terms; say it in the user's.
        m if m.contains("` as u128") || m.contains("` as i128") => {
            let number = m.split('`').nth(1).unwrap_or_default();
            format!(
                "the integer {number} is too large: numbers in registry files must fit in 64 bits"
            )
        }
        _ => format!("invalid YAML: {message}"),
    };
    YamlError::At {
        line,
        column,
        message,
    }
}

/// libyaml ends a text that lacks a final line break with a break of its own,
/// so an error at the very end of such a file is reported at column 1 of a
/// line that does not exist (found by fuzzing): point at the end of the last
/// line instead, where an editor can jump.
fn within_text(text: &str, line: usize, column: usize) -> (usize, usize) {
    // The line breaks YAML 1.1 (and libyaml) knows, `\r\n` counting once.
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text
        .split(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .collect();
    match lines.last() {
        Some(last) if line > lines.len() => (lines.len(), last.chars().count() + 1),
        _ => (line, column),
    }
}

fn to_json(
    value: &serde_yaml::Value,
    path: &mut Vec<Step>,
) -> Result<serde_json::Value, YamlError> {
    use serde_json::Value as J;
    use serde_yaml::Value as Y;
    let at = |path: &Vec<Step>, message: String| YamlError::AtPath {
        path: path.clone(),
        message,
    };
    Ok(match value {
        Y::Null => J::Null,
        Y::Bool(b) => J::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                J::from(i)
            } else if let Some(u) = n.as_u64() {
                J::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                match serde_json::Number::from_f64(f) {
                    Some(n) => J::Number(n),
                    None => return Err(at(path, format!("{f} is not a finite number"))),
                }
            }
        }
        Y::String(s) => J::String(s.clone()),
        Y::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                out.push(to_json(item, path)?);
                path.pop();
            }
            J::Array(out)
        }
        Y::Mapping(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (key, item) in map {
                let key = match key {
                    Y::String(s) => s.clone(),
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    _ => return Err(at(path, "mapping keys must be plain strings".into())),
                };
                path.push(Step::Key(key.clone()));
                let item = to_json(item, path)?;
                path.pop();
                out.insert(key, item);
            }
            J::Object(out)
        }
        Y::Tagged(tagged) => {
            return Err(at(
                path,
                format!(
                    "YAML tags such as `{}` are not allowed in registry files",
                    tagged.tag
                ),
            ));
        }
    })
}

/// A YAML error message without its ` at line N column M` marks: the
/// position is shown once, as `file:line:column`.
fn strip_positions(message: &str) -> String {
    static MARK: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    MARK.get_or_init(|| regex::Regex::new(r" at line \d+ column \d+").expect("a valid regex"))
        .replace_all(message, "")
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_utf8_with_position() {
        let err = text_of(b"a: 1\nb: \xff\n").unwrap_err();
        assert!(
            matches!(err, YamlError::At { line: 2, column: 4, ref message } if message.contains("UTF-8")),
            "{err:?}"
        );
    }

    #[test]
    fn places_an_error_at_the_end_of_a_file_on_its_last_line() {
        // libyaml would say line 3: the file has two.
        let err = parse_value("[hur>n,\nve").unwrap_err();
        assert!(
            matches!(
                err,
                YamlError::At {
                    line: 2,
                    column: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = parse_value("a: [1,\r\nb").unwrap_err();
        assert!(matches!(err, YamlError::At { line: 2, .. }), "{err:?}");
    }

    #[test]
    fn strips_bom() {
        assert_eq!(text_of("\u{feff}a: 1\n".as_bytes()).unwrap(), "a: 1\n");
    }

    #[test]
    fn rejects_nan_and_tags_with_paths() {
        let err = parse_value("m:\n  acc: .nan\n").unwrap_err();
        assert_eq!(
            err,
            YamlError::AtPath {
                path: vec![Step::Key("m".into()), Step::Key("acc".into())],
                message: "NaN is not a finite number".into()
            }
        );
        assert!(matches!(
            parse_value("a: !x 1\n"),
            Err(YamlError::AtPath { .. })
        ));
        assert!(matches!(
            parse_value("a: -.inf\n"),
            Err(YamlError::AtPath { .. })
        ));
    }

    #[test]
    fn reports_duplicate_keys() {
        for (text, dup) in [
            ("a: 1\nb: 2\na: 3\n", "a"),
            ("m:\n  x: 1\n  x: 2\n", "x"),
            ("m:\n  1: a\n  1: b\n", "1"),
        ] {
            assert!(
                matches!(parse_value(text), Err(YamlError::DuplicateKey { ref key, .. }) if key == dup),
                "{text:?}: {:?}",
                parse_value(text)
            );
        }
    }

    #[test]
    fn bounds_alias_bombs_and_nesting() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='j' {
            let refs = vec![format!("*{prev}"); 9].join(", ");
            bomb.push_str(&format!("{c}: &{c} [{refs}]\n"));
            prev = c;
        }
        let err = parse_value(&bomb).unwrap_err();
        assert!(format!("{err:?}").contains("alias bomb"), "{err:?}");
        let deep = "[".repeat(10_000);
        let err = parse_value(&deep).unwrap_err();
        assert!(format!("{err:?}").contains("too deep"), "{err:?}");
    }

    #[test]
    fn counts_nodes_before_serde_yaml_builds_them() {
        // Just under the limit: read. One more: refused where it is passed.
        let dense = |n: usize| format!("x: [{}]\n", vec!["[]"; n].join(","));
        // The mapping, its key, the list and n lists in it.
        assert!(text_of(dense(MAX_NODES - 3).as_bytes()).is_ok());
        let err = text_of(dense(MAX_NODES - 2).as_bytes()).unwrap_err();
        let YamlError::At {
            line,
            column,
            message,
        } = err
        else {
            panic!("{err:?}")
        };
        assert_eq!((line, column), (1, 5 + 3 * (MAX_NODES - 3)));
        assert!(
            message.contains("more than 250,000 YAML nodes"),
            "{message}"
        );
        // Block style, mappings and scalars count alike.
        let block = "- a: 1\n".repeat(MAX_NODES / 3 + 1);
        assert!(text_of(block.as_bytes()).is_err());
        // A huge scalar is one node.
        let scalar = format!("x: {}\n", "y".repeat(4 * MAX_NODES));
        assert!(text_of(scalar.as_bytes()).is_ok());
    }

    #[test]
    fn counts_an_alias_as_what_it_repeats() {
        // 1,000 items repeated 1,000 times: a million nodes from 10 KB.
        let quadratic = format!(
            "a: &a [{}]\nb: [{}]\n",
            vec!["0"; 1000].join(","),
            vec!["*a"; 1000].join(",")
        );
        let err = text_of(quadratic.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, YamlError::At { line: 2, message, .. } if message.contains("alias bomb")),
            "{err:?}"
        );
        // A few aliases are fine (and a `*` inside a string is no alias).
        let fine = "a: &a [1, 2]\nb: *a\nc: \"**bold**\"\n";
        assert!(text_of(fine.as_bytes()).is_ok());
    }

    #[test]
    fn leaves_syntax_errors_to_serde_yaml_where_it_cannot_count_on() {
        // A small file broken where no alias follows, and an alias to no
        // anchor (where serde_yaml stops too): serde_yaml says why.
        for broken in ["a: [}\nb: 1\n", "a: *b\nc: [*b, *b]\n"] {
            assert_eq!(text_of(broken.as_bytes()), Ok(broken));
            assert!(parse_value(broken).is_err());
        }
        // A large file broken early: yaml-rust2's reason, located.
        let large = format!("a: [}}\nb: [{}]\n", vec!["1"; MAX_NODES].join(","));
        let err = text_of(large.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, YamlError::At { line: 1, message, .. } if message.starts_with("invalid YAML")),
            "{err:?}"
        );
    }

    #[test]
    fn bounds_json_values() {
        let dense = |n: usize| format!("[{}]", vec!["[]"; n].join(","));
        assert!(count_json_nodes(&dense(MAX_NODES / 2 - 1)).is_ok());
        assert!(count_json_nodes(&dense(MAX_NODES / 2 + 1)).is_err());
        // Brackets and commas inside strings are text.
        let text = format!("{{\"a\": \"{}\\\"\"}}", "[,".repeat(MAX_NODES));
        assert!(count_json_nodes(&text).is_ok());
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn writes_with_modeline_deterministically() {
        let v = serde_json::json!({"b": 1, "a": "0.5"});
        let text = to_yaml("run", &v).unwrap();
        assert!(text.starts_with("# yaml-language-server: $schema="));
        assert_eq!(text, to_yaml("run", &v).unwrap());
        assert!(
            text.contains("'0.5'"),
            "a numeric-looking string stays a string: {text}"
        );
    }
}
