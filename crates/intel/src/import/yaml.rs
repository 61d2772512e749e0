//! A thin cursor over saphyr-parser's event stream: line numbers, scalar
//! resolution (YAML 1.2 core schema for plain scalars), scalar aliases, and
//! skipping of values we do not read. Iterative, so deep nesting cannot
//! overflow the stack.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, StrInput};

use crate::error::{IntelError, Location, Result};

/// A value as the TagPack readers see it.
pub(crate) enum Value<'a> {
    /// `~`, `null` or nothing.
    Null,
    /// Any other scalar, as text.
    Str(Cow<'a, str>),
    /// `true`/`false` (plain scalars only).
    Bool(bool),
    /// A sequence of scalars.
    List(Vec<Cow<'a, str>>),
    /// A mapping, or a sequence holding collections: skipped.
    Complex,
}

pub(crate) struct Events<'a> {
    parser: Parser<'a, StrInput<'a>>,
    file: &'a str,
    anchors: HashMap<usize, Cow<'a, str>>,
    /// Line (1-based) of the last event returned.
    pub line: u64,
}

impl<'a> Events<'a> {
    pub(crate) fn new(text: &'a str, file: &'a str) -> Events<'a> {
        Events {
            parser: Parser::new_from_str(text),
            file,
            anchors: HashMap::new(),
            line: 1,
        }
    }

    pub(crate) fn at(&self, line: u64) -> Location {
        Location::file(self.file).at_line(line)
    }

    pub(crate) fn err(&self, line: u64, field: &str, what: impl Into<String>) -> IntelError {
        IntelError::input(self.at(line).field(field), what)
    }

    /// The next key of the mapping being read, or `None` at its end.
    pub(crate) fn next_key(&mut self) -> Result<Option<Cow<'a, str>>> {
        match self.next()? {
            Event::MappingEnd => Ok(None),
            Event::Scalar(k, ..) => Ok(Some(k)),
            _ => Err(self.err(self.line, "key", "mapping keys must be plain text")),
        }
    }

    /// The next event; scalar aliases are replaced by their anchor's value.
    pub(crate) fn next(&mut self) -> Result<Event<'a>> {
        match self.parser.next() {
            None => Err(IntelError::input(
                self.at(self.line),
                "unexpected end of yaml stream",
            )),
            Some(Err(e)) => Err(IntelError::input(
                Location::file(self.file).at_line(e.marker().line() as u64),
                format!(
                    "malformed yaml: {} (column {})",
                    e.info(),
                    e.marker().col() + 1
                ),
            )),
            Some(Ok((ev, span))) => {
                self.line = span.start.line() as u64;
                match ev {
                    Event::Scalar(ref v, _, anchor, _) if anchor > 0 => {
                        self.anchors.insert(anchor, v.clone());
                        Ok(ev)
                    }
                    Event::Alias(id) => match self.anchors.get(&id) {
                        Some(v) => Ok(Event::Scalar(v.clone(), ScalarStyle::SingleQuoted, 0, None)),
                        None => Err(IntelError::input(
                            self.at(self.line),
                            "aliases of collections are not supported",
                        )),
                    },
                    ev => Ok(ev),
                }
            }
        }
    }

    /// Skips the rest of a collection whose start event was just read.
    pub(crate) fn skip_collection(&mut self) -> Result<()> {
        let mut depth = 1usize;
        while depth > 0 {
            match self.next()? {
                Event::MappingStart(..) | Event::SequenceStart(..) => depth += 1,
                Event::MappingEnd | Event::SequenceEnd => depth -= 1,
                Event::StreamEnd => {
                    return Err(IntelError::input(
                        self.at(self.line),
                        "unexpected end of yaml stream",
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Reads a value whose first event is `first`.
    pub(crate) fn value(&mut self, first: Event<'a>) -> Result<Value<'a>> {
        match first {
            Event::Scalar(v, style, _, _) => Ok(scalar(v, style)),
            Event::SequenceStart(..) => {
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        Event::SequenceEnd => return Ok(Value::List(items)),
                        Event::Scalar(v, _, _, _) => items.push(v),
                        Event::MappingStart(..) | Event::SequenceStart(..) => {
                            self.skip_collection()?;
                            self.skip_rest_of_sequence()?;
                            return Ok(Value::Complex);
                        }
                        _ => {}
                    }
                }
            }
            Event::MappingStart(..) => {
                self.skip_collection()?;
                Ok(Value::Complex)
            }
            _ => Ok(Value::Complex),
        }
    }

    fn skip_rest_of_sequence(&mut self) -> Result<()> {
        self.skip_collection()
    }

    /// Reads the stream up to the first document's root collection start.
    pub(crate) fn document_start(&mut self) -> Result<Event<'a>> {
        loop {
            match self.next()? {
                Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => continue,
                Event::StreamEnd => {
                    return Err(IntelError::input(self.at(self.line), "empty yaml document"))
                }
                ev => return Ok(ev),
            }
        }
    }

    /// After the root collection: only the document end, then the stream end.
    pub(crate) fn document_end(&mut self) -> Result<()> {
        loop {
            match self.next()? {
                Event::DocumentEnd | Event::Nothing => continue,
                Event::StreamEnd => return Ok(()),
                _ => {
                    return Err(IntelError::input(
                        self.at(self.line),
                        "more than one yaml document in the file",
                    ))
                }
            }
        }
    }
}

/// YAML 1.2 core schema for plain scalars: null and booleans; everything
/// else (numbers included) is text, since labels such as `01` or `1e5` are
/// names, not numbers.
fn scalar(v: Cow<'_, str>, style: ScalarStyle) -> Value<'_> {
    if style != ScalarStyle::Plain {
        return Value::Str(v);
    }
    match &*v {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => Value::Str(v),
    }
}
