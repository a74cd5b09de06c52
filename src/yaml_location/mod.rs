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
        within_lines(&lines(self.source), corrected.unwrap_or(at))
    }
}

/// yaml-rust2 ends a text that lacks a final line break on a line of its own,
/// so what it marks at the end of input (an absent root value such as `&a`
/// alone) lands on a line the file does not have (found by fuzzing): such a
/// mark moves to the end of the last line.
fn within_lines(lines: &[Vec<char>], at: Location) -> Location {
    match lines.last() {
        Some(last) if at.line > lines.len() => Location {
            line: lines.len(),
            column: last.len() + 1,
        },
        _ => at,
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
mod tests;
