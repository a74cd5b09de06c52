//! Source positions for paths inside a YAML document.
//!
//! regent parses YAML with serde_yaml, which forgets where values were written, yet every
//! schema or semantic error must be printed as `file:line:column: message`. This module owns
//! the mapping from a path (a JSON pointer or a list of [`Step`]s) back to a 1-based line and
//! column. It re-reads the text with yaml-rust2's event parser, which reports a position with
//! every event. It only runs when an error is reported, so it favours clarity over speed, but
//! it walks the event stream in a single pass with no recursion, so deep or huge inputs cost
//! linear time and constant stack.
//!
//! yaml-rust2 (0.13) conventions this module relies on and corrects for:
//! - `Marker::line()` is 1-based; `Marker::col()` is 0-based and counts characters (a tab is
//!   one column, CRLF and a lone CR end a line like LF). `Marker::index()` is not used: despite
//!   its documentation it counts characters, except inside block scalars where it counts bytes.
//! - A leading BOM is not skipped by yaml-rust2 (it would become part of the first scalar), so
//!   it is stripped here; editors do not show it, so columns are counted after it.
//! - A block mapping's start event is marked at the first `:`, not at the first key.
//! - A block scalar (`|`, `>`) is marked at its first content line, or at whatever follows it
//!   when it is empty, not at its indicator.
//! - A sequence written without indentation under a key (`key:\n- a`) is marked after `- `.
//! - An absent value (`key:`) is marked at the next token, often on the next line.
//! - Flow collections nest at most 255 levels; deeper input is a parse error.
//!
//! Where a mark is known to be misleading it is corrected: mappings use their first key, block
//! scalars their indicator, unindented sequences their first `-`, absent values their key. An
//! absent sequence item (`-` alone) keeps yaml-rust2's mark, which is the following token.

use std::str::Chars;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One step of a path into a YAML document: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// 1-based line and column (column counted in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// Splits an RFC 6901 JSON pointer ("/a/0/b~1c") into steps; numeric segments become
/// `Index` steps AND must still match mapping keys like "0" (see `locate`).
///
/// Only canonical numbers ("0", "17", not "017") become indexes, as RFC 6901 requires. A
/// pointer without its leading `/` is read as if it had one: the caller only wants a position.
pub fn pointer_steps(pointer: &str) -> Vec<Step> {
    if pointer.is_empty() {
        return Vec::new();
    }
    let body = pointer.strip_prefix('/').unwrap_or(pointer);
    body.split('/')
        .map(|segment| {
            // `~1` first: unescaping `~0` first would turn "~01" into "/" instead of "~1".
            let key = segment.replace("~1", "/").replace("~0", "~");
            canonical_index(&key).map_or(Step::Key(key), Step::Index)
        })
        .collect()
}

/// What to point at when the path names a mapping entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Key,
    Value,
}

/// Finds where `path` is written in `source` (the first document).
/// - For a mapping entry, `Target::Key` gives the position of the key, `Target::Value` the position of its value
///   (for a value that is a nested block mapping/sequence, the position of its first token is fine).
/// - A sequence index gives the position of that item.
/// - Empty path: the root node's position.
/// - If the path does not fully exist (e.g. a schema error about a missing required property, reported at the parent),
///   return the location of the deepest existing ancestor (never None when the document parses; None only if the
///   YAML cannot be parsed at all by yaml-rust2).
/// - `Step::Index(n)` applied to a mapping matches the key "n"; `Step::Key(k)` where k is all digits applied to a
///   sequence matches index k.
/// - Keys are compared by their scalar string value (so `"a"`, `'a'` and `a` are the same key). Non-scalar keys are skipped.
/// - Aliases (`*x`) are not expanded: a path that goes through an alias stops at the alias's position.
///
/// The deepest existing ancestor is reported as `locate` reports it on its own, with the same
/// `target`. An absent value (`key:`) is reported at its key. A syntax error after the walked
/// part of the document does not matter; one inside it ends the walk at the deepest node
/// reached, because a nearby position is more useful than none. An empty document gives 1:1.
pub fn locate(source: &str, path: &[Step], target: Target) -> Option<Location> {
    let mut events = Events::new(source);
    match follow(&mut events, path, target) {
        Some(reached) => Some(events.refine(reached.spot)),
        None => (!events.failed).then_some(Location { line: 1, column: 1 }),
    }
}

/// Position of the N-th (0-based) occurrence of `key` as a mapping key at the mapping found at `parent`
/// — used to report duplicate keys at the second occurrence. Returns None if not found.
pub fn locate_key_occurrence(
    source: &str,
    parent: &[Step],
    key: &str,
    occurrence: usize,
) -> Option<Location> {
    let mut events = Events::new(source);
    let reached = follow(&mut events, parent, Target::Value)?;
    if reached.depth != parent.len() || !matches!(reached.node, Event::MappingStart(..)) {
        return None;
    }
    let step = Step::Key(key.to_owned());
    for _ in 0..occurrence {
        let (_, value, _) = events.find_entry(&step)?;
        events.skip_node(&value)?;
    }
    let (key_spot, _, _) = events.find_entry(&step)?;
    Some(events.refine(key_spot))
}

/// Position of the first key named `key` that repeats an earlier key of the same mapping,
/// anywhere in the first document: serde_yaml reports duplicates at the start of the mapping,
/// this points at the offending line. One pass, with an explicit stack of open collections.
pub fn find_duplicate_key(source: &str, key: &str) -> Option<Location> {
    /// An open collection; for a mapping, whether the next node is a key and the keys seen.
    enum Open {
        Sequence,
        Mapping { expect_key: bool, seen: bool },
    }
    let mut events = Events::new(source);
    let mut stack: Vec<Open> = Vec::new();
    while let Some((event, mark)) = events.next() {
        // Is this node a key of the innermost mapping? Then the next node is its value.
        let is_key = match stack.last_mut() {
            Some(Open::Mapping { expect_key, .. }) => {
                let was = *expect_key;
                if !matches!(event, Event::MappingEnd) {
                    *expect_key = !was;
                }
                was
            }
            _ => false,
        };
        match event {
            Event::MappingStart(..) => stack.push(Open::Mapping {
                expect_key: true,
                seen: false,
            }),
            Event::SequenceStart(..) => stack.push(Open::Sequence),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            Event::Scalar(ref text, ..) if is_key && text == key => {
                if let Some(Open::Mapping { seen, .. }) = stack.last_mut() {
                    if *seen {
                        return Some(location(mark));
                    }
                    *seen = true;
                }
            }
            _ => {}
        }
    }
    None
}

/// `Some(n)` when `text` is how a JSON pointer writes array index `n`.
fn canonical_index(text: &str) -> Option<usize> {
    let canonical = text == "0" || !text.starts_with('0');
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    (canonical && digits).then(|| text.parse().ok()).flatten()
}

fn key_matches(step: &Step, key: &str) -> bool {
    match step {
        Step::Key(wanted) => wanted == key,
        Step::Index(index) => canonical_index(key) == Some(*index),
    }
}

fn step_index(step: &Step) -> Option<usize> {
    match step {
        Step::Index(index) => Some(*index),
        Step::Key(key) => canonical_index(key),
    }
}

fn location(mark: Marker) -> Location {
    // `max(1)` guards against the (0, 0) placeholder marks yaml-rust2 uses internally.
    let line = mark.line().max(1);
    Location {
        line,
        column: mark.col() + 1,
    }
}

/// A position as the event stream gives it, plus the correction it still needs. Corrections
/// read the source text, so they are applied once, to the final answer only.
type Spot = (Location, Fix);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fix {
    None,
    /// Move from the first content line back to the `|` or `>` indicator.
    BlockScalar,
    /// Move from after `- ` back to the `-` of an unindented sequence.
    Sequence,
}

/// The deepest node a path could be followed to.
struct Reached {
    /// How many steps of the path lead to it.
    depth: usize,
    spot: Spot,
    /// The event that starts the node; the stream is positioned just after it.
    node: Event,
}

/// Walks down from the root one step at a time; `None` if there is no root node. Siblings
/// that do not match are skipped by counting start and end events, so the nesting depth of
/// the document never reaches the call stack.
fn follow(events: &mut Events, path: &[Step], target: Target) -> Option<Reached> {
    let (mut node, mark) = events.next()?;
    let mut spot = events.spot(&node, mark);
    let mut depth = 0;
    for step in path {
        let child = match node {
            Event::MappingStart(..) => events.find_entry(step).map(|(key, value, mark)| {
                // An absent value is written nowhere; its key is the closest honest position.
                let absent =
                    matches!(&value, Event::Scalar(s, TScalarStyle::Plain, ..) if s.is_empty());
                let spot = if target == Target::Key || absent {
                    key
                } else {
                    events.spot(&value, mark)
                };
                (value, spot)
            }),
            Event::SequenceStart(..) => step_index(step)
                .and_then(|index| events.find_item(index))
                .map(|(item, mark)| {
                    let spot = events.spot(&item, mark);
                    (item, spot)
                }),
            // Scalars and aliases have no children.
            _ => None,
        };
        let Some((child_node, child_spot)) = child else {
            break;
        };
        (node, spot) = (child_node, child_spot);
        depth += 1;
    }
    Some(Reached { depth, spot, node })
}

/// The events of the first document, without the stream and document framing.
struct Events<'a> {
    source: &'a str,
    parser: Parser<Chars<'a>>,
    ended: bool,
    failed: bool,
}

impl<'a> Events<'a> {
    fn new(source: &'a str) -> Self {
        let source = source.strip_prefix('\u{feff}').unwrap_or(source);
        let parser = Parser::new_from_str(source);
        let mut events = Events {
            source,
            parser,
            ended: false,
            failed: false,
        };
        while let Some((Event::StreamStart | Event::DocumentStart, _)) = events.peek() {
            let _ = events.parser.next_token();
        }
        events
    }

    /// The next event without consuming it; `None` after an error or the first document.
    fn peek(&mut self) -> Option<&(Event, Marker)> {
        if self.ended {
            return None;
        }
        match self.parser.peek() {
            Ok(event) => Some(event),
            Err(_) => {
                // yaml-rust2's state after an error is unspecified: never ask it again.
                self.ended = true;
                self.failed = true;
                None
            }
        }
    }

    fn next(&mut self) -> Option<(Event, Marker)> {
        if matches!(self.peek()?.0, Event::DocumentEnd | Event::StreamEnd) {
            self.ended = true;
            return None;
        }
        // Cannot fail: `peek` has already parsed this event.
        self.parser.next_token().ok()
    }

    /// Where the node started by `event` is written; must be called right after reading it.
    fn spot(&mut self, event: &Event, mark: Marker) -> Spot {
        let at = location(mark);
        match event {
            // A block mapping is marked at its first `:`, after the first key; a flow mapping
            // at its `{`, before it. The earlier of the two is where the mapping begins.
            Event::MappingStart(..) => {
                let first = self.peek().map_or(at, |(_, mark)| location(*mark));
                let earlier = (first.line, first.column) < (at.line, at.column);
                (if earlier { first } else { at }, Fix::None)
            }
            Event::SequenceStart(..) => (at, Fix::Sequence),
            Event::Scalar(_, TScalarStyle::Literal | TScalarStyle::Folded, ..) => {
                (at, Fix::BlockScalar)
            }
            _ => (at, Fix::None),
        }
    }

    /// Consumes the rest of the node started by `event`; `None` if the document ends first.
    fn skip_node(&mut self, event: &Event) -> Option<()> {
        let mut open = usize::from(matches!(
            event,
            Event::MappingStart(..) | Event::SequenceStart(..)
        ));
        while open > 0 {
            match self.next()?.0 {
                Event::MappingStart(..) | Event::SequenceStart(..) => open += 1,
                Event::MappingEnd | Event::SequenceEnd => open -= 1,
                _ => {}
            }
        }
        Some(())
    }

    /// Inside a mapping, finds the next entry whose key matches `step`; returns the key's
    /// spot and the value's start event, with the stream positioned just after that event.
    fn find_entry(&mut self, step: &Step) -> Option<(Spot, Event, Marker)> {
        loop {
            let (key, key_mark) = self.next()?;
            if matches!(key, Event::MappingEnd) {
                return None;
            }
            let hit = matches!(&key, Event::Scalar(text, ..) if key_matches(step, text));
            let key_spot = self.spot(&key, key_mark);
            self.skip_node(&key)?;
            let (value, value_mark) = self.next()?;
            if hit {
                return Some((key_spot, value, value_mark));
            }
            self.skip_node(&value)?;
        }
    }

    /// Inside a sequence, finds item `index`; returns its start event, with the stream
    /// positioned just after it.
    fn find_item(&mut self, index: usize) -> Option<(Event, Marker)> {
        for _ in 0..index {
            let (item, _) = self.next()?;
            if matches!(item, Event::SequenceEnd) {
                return None;
            }
            self.skip_node(&item)?;
        }
        self.next()
            .filter(|(item, _)| !matches!(item, Event::SequenceEnd))
    }

    fn refine(&self, (at, fix): Spot) -> Location {
        let corrected = match fix {
            Fix::None => None,
            Fix::BlockScalar => block_scalar_indicator(&lines(self.source), at),
            Fix::Sequence => sequence_dash(&lines(self.source), at),
        };
        corrected.unwrap_or(at)
    }
}

/// The source split into lines the way yaml-rust2 counts them (LF, CRLF and a lone CR).
fn lines(source: &str) -> Vec<Vec<char>> {
    let mut lines = Vec::new();
    let mut current = Vec::new();
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' || c == '\n' {
            if c == '\r' {
                chars.next_if_eq(&'\n');
            }
            lines.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    lines.push(current);
    lines
}

fn is_blank(c: &char) -> bool {
    *c == ' ' || *c == '\t'
}

/// Finds the `|`/`>` indicator of a block scalar whose content yaml-rust2 marked at `at`.
/// Only blank lines separate the indicator's line from the first content line, so the
/// indicator is on the closest earlier line with any text.
fn block_scalar_indicator(lines: &[Vec<char>], at: Location) -> Option<Location> {
    let row = at.line - 1;
    // An empty scalar at the end of input is already marked at its indicator.
    if lines.get(row).and_then(|line| block_scalar_header(line)) == Some(at.column - 1) {
        return None;
    }
    let mut rows = lines.get(..row)?.iter().enumerate().rev();
    let (row, line) = rows.find(|(_, line)| line.iter().any(|c| !c.is_whitespace()))?;
    let column = block_scalar_header(line)? + 1;
    Some(Location {
        line: row + 1,
        column,
    })
}

/// Column of a block scalar header on `line`: `|` or `>`, indentation and chomping
/// indicators, then at most a comment. The leftmost match wins because a comment may
/// itself contain something that looks like a header.
fn block_scalar_header(line: &[char]) -> Option<usize> {
    (0..line.len()).find(|&start| {
        let starts_token = start == 0 || is_blank(&line[start - 1]);
        if !starts_token || !matches!(line[start], '|' | '>') {
            return false;
        }
        let rest = &line[start + 1..];
        let flags = rest
            .iter()
            .take_while(|c| c.is_ascii_digit() || matches!(c, '+' | '-'));
        let rest = &rest[flags.count()..];
        let blanks = rest.iter().take_while(|c| is_blank(c)).count();
        blanks == rest.len() || (blanks > 0 && rest[blanks] == '#')
    })
}

/// Finds the `-` of an unindented sequence's first item, which yaml-rust2 marks after the
/// `-` and its trailing blanks. Indented block sequences are already marked at their `-`
/// and flow sequences at their `[`, so those are left alone.
fn sequence_dash(lines: &[Vec<char>], at: Location) -> Option<Location> {
    let line = lines.get(at.line - 1)?;
    let column = at.column - 1;
    if matches!(line.get(column), Some('-' | '[')) {
        return None;
    }
    let blanks = line
        .get(..column)?
        .iter()
        .rev()
        .take_while(|c| is_blank(c))
        .count();
    let dash = column.checked_sub(blanks + 1)?;
    let lone = line[dash] == '-' && (dash == 0 || is_blank(&line[dash - 1]));
    lone.then_some(Location {
        line: at.line,
        column: dash + 1,
    })
}

#[cfg(test)]
mod tests {
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
}
