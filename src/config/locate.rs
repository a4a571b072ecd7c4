//! Where each key of a YAML file sits. serde gives positions only for the first
//! deserialisation error; checks that run after parsing (an unknown clause id, a bad
//! placeholder, an unreadable date) still have to name a line and column, so we walk
//! the file's event stream once and remember where every key path starts.
//!
//! The event parser never expands aliases, so an alias bomb costs nothing here.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Key paths (`clauses.replace.remote-log`, `audience[1]`) to the position of the
/// value they name.
#[derive(Debug, Clone, Default)]
pub struct Locations {
    values: HashMap<String, Position>,
    keys: HashMap<String, Position>,
}

impl Locations {
    /// Parses `text`; on a syntax error the map is simply left partial, because serde
    /// reports syntax errors itself.
    pub fn of(text: &str) -> Self {
        let mut walker = Walker::default();
        let _ = Parser::new(text.chars()).load(&mut walker, false);
        Self {
            values: walker.values,
            keys: walker.keys,
        }
    }

    /// The position of the key that ends `path` (for errors about a key itself,
    /// such as an unknown clause id used as a key), else as [`Self::find`].
    pub fn find_key(&self, path: &str) -> Option<Position> {
        self.keys.get(path).copied().or_else(|| self.find(path))
    }

    /// True when the file itself sets `path` (not a default).
    pub fn has(&self, path: &str) -> bool {
        self.values.contains_key(path) || self.keys.contains_key(path)
    }

    /// The position of `path`, or of its nearest ancestor that has one.
    pub fn find(&self, path: &str) -> Option<Position> {
        let mut path = path;
        loop {
            if let Some(position) = self.values.get(path) {
                return Some(*position);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

enum Frame {
    /// Inside a mapping; `key` is the key whose value comes next, if any.
    Mapping {
        key: Option<String>,
    },
    Sequence {
        next: usize,
    },
}

#[derive(Default)]
struct Walker {
    stack: Vec<(String, Frame)>,
    values: HashMap<String, Position>,
    keys: HashMap<String, Position>,
}

impl Walker {
    /// Called when a value (scalar, mapping or sequence) starts; returns its path,
    /// or `None` when the scalar is a mapping key.
    fn enter_value(&mut self, mark: Marker, scalar: Option<&str>) -> Option<String> {
        let position = Position {
            line: mark.line(),
            column: mark.col() + 1,
        };
        let Some((parent, frame)) = self.stack.last_mut() else {
            self.values.insert(String::new(), position);
            return Some(String::new());
        };
        let path = match frame {
            Frame::Mapping { key } => match key.take() {
                Some(key) if parent.is_empty() => key,
                Some(key) => format!("{parent}.{key}"),
                None => {
                    // This node is a key. Non-scalar keys don't occur in our files.
                    *key = Some(scalar.unwrap_or_default().to_owned());
                    let key_path = match parent.is_empty() {
                        true => scalar.unwrap_or_default().to_owned(),
                        false => format!("{parent}.{}", scalar.unwrap_or_default()),
                    };
                    self.keys.entry(key_path.clone()).or_insert(position);
                    self.values.entry(key_path).or_insert(position);
                    return None;
                }
            },
            Frame::Sequence { next } => {
                *next += 1;
                format!("{parent}[{}]", *next - 1)
            }
        };
        // A scalar value is what an error is about, so point at it; a nested
        // mapping or list is better pointed at by its key, stored first.
        match scalar {
            Some(_) => {
                self.values.insert(path.clone(), position);
            }
            None => {
                self.values.entry(path.clone()).or_insert(position);
            }
        }
        Some(path)
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, ..) => {
                self.enter_value(mark, Some(&value));
            }
            Event::Alias(_) => {
                self.enter_value(mark, Some(""));
            }
            Event::MappingStart(..) => {
                let path = self.enter_value(mark, None).unwrap_or_default();
                self.stack.push((path, Frame::Mapping { key: None }));
            }
            Event::SequenceStart(..) => {
                let path = self.enter_value(mark, None).unwrap_or_default();
                self.stack.push((path, Frame::Sequence { next: 0 }));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_and_list_items() {
        let text = "name: A\nclauses:\n  remove:\n    - one\n    - two\n  replace:\n    x: y\n";
        let at = Locations::of(text);
        assert_eq!(at.find("name"), Some(Position { line: 1, column: 7 }));
        assert_eq!(at.find("clauses"), Some(Position { line: 2, column: 1 }));
        assert_eq!(
            at.find("clauses.remove[1]"),
            Some(Position { line: 5, column: 7 })
        );
        assert_eq!(
            at.find("clauses.replace.x"),
            Some(Position { line: 7, column: 8 })
        );
        assert_eq!(
            at.find_key("clauses.replace.x"),
            Some(Position { line: 7, column: 5 })
        );
        // An unknown path falls back to its nearest known ancestor.
        assert_eq!(
            at.find("clauses.replace.x.deeper"),
            Some(Position { line: 7, column: 8 })
        );
    }
}
