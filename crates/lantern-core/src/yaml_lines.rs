//! Maps dotted field paths (`charts[1].y`) of a YAML document to the line they stand on, so that errors found
//! after deserialization (an unknown column, a missing measure) can still name file, line and field.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Deserializes a YAML spec file; errors ([`crate::Error::Spec`]) name the file, the line and the dotted path of
/// the bad field. The index returned serves errors found later (an unknown column), so they name a line too.
pub fn parse_spec<T: serde::de::DeserializeOwned>(
    file: &std::path::Path,
    text: &str,
) -> crate::Result<(T, LineIndex)> {
    let lines = LineIndex::new(text);
    let de = serde_yaml::Deserializer::from_str(text);
    let spec = serde_path_to_error::deserialize(de).map_err(|e| {
        let message = e.inner().to_string();
        let mut field = e.path().to_string();
        let mut line = e.inner().location().map(|l| l.line());
        // A misspelt key stands on a line of its own, which the index knows. Serde's position for it is lost
        // where the value was buffered first (an internally tagged enum such as a dataset's `source:`).
        if let Some(key) = unknown_field(&message) {
            let path = if field == "." {
                key.to_string()
            } else {
                join(&field, key)
            };
            if let Some(&at) = lines.lines.get(&path) {
                (field, line) = (path, Some(at));
            }
        }
        crate::Error::Spec {
            file: file.to_path_buf(),
            line: line.unwrap_or_else(|| lines.line(&field)),
            field,
            message,
        }
    })?;
    Ok((spec, lines))
}

/// The key serde names in its "unknown field `key`, expected …" message: serde gives it in no other way.
pub fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.split_once("unknown field `")?.1;
    rest.split_once('`').map(|(key, _)| key)
}

/// Line numbers (1-based) by field path. Paths use `.` between keys and `[i]` for sequence items.
#[derive(Debug, Default, Clone)]
pub struct LineIndex {
    lines: HashMap<String, usize>,
}

impl LineIndex {
    /// Indexes `text`; a document that does not parse yields an empty index (serde reports that error itself).
    pub fn new(text: &str) -> Self {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut builder, false).is_err() {
            return Self::default();
        }
        Self {
            lines: builder.lines,
        }
    }

    /// The line of `path`, or of its nearest indexed ancestor, or 1.
    pub fn line(&self, path: &str) -> usize {
        let mut p = path;
        loop {
            if let Some(line) = self.lines.get(p) {
                return *line;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return 1,
            }
        }
    }
}

enum Frame {
    Mapping { path: String, key: Option<String> },
    Sequence { path: String, next: usize },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    lines: HashMap<String, usize>,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl Builder {
    /// Called for every node start; returns the node's path, or `None` when the node is a mapping key.
    fn node_path(&mut self, key_text: Option<&str>, line: usize) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Mapping { path, key }) => match key.take() {
                Some(k) => Some(join(path, &k)),
                None => {
                    let k = key_text.unwrap_or("?").to_string();
                    self.lines.entry(join(path, &k)).or_insert(line);
                    *key = Some(k);
                    None
                }
            },
            Some(Frame::Sequence { path, next }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                self.lines.entry(p.clone()).or_insert(line);
                Some(p)
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(text, ..) => {
                self.node_path(Some(&text), line);
            }
            Event::Alias(_) => {
                self.node_path(None, line);
            }
            Event::MappingStart(..) => {
                let path = self.node_path(None, line).unwrap_or_default();
                self.stack.push(Frame::Mapping { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.node_path(None, line).unwrap_or_default();
                self.stack.push(Frame::Sequence { path, next: 0 });
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
    fn finds_nested_keys_and_sequence_items() {
        let text =
            "id: x\ncharts:\n  - type: bar\n    x: team\n  - {type: pie, y: rows}\nkpis: [a, b]\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line("id"), 1);
        assert_eq!(idx.line("charts"), 2);
        assert_eq!(idx.line("charts[0]"), 3);
        assert_eq!(idx.line("charts[0].x"), 4);
        assert_eq!(idx.line("charts[1].y"), 5);
        assert_eq!(idx.line("kpis[1]"), 6);
        // Unknown leaves fall back to the nearest known ancestor.
        assert_eq!(idx.line("charts[0].missing"), 3);
        assert_eq!(idx.line("nothing"), 1);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Spec {
        id: String,
        source: Source,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
    #[allow(dead_code)]
    enum Source {
        Csv { path: String },
    }

    fn fault(text: &str) -> (usize, String) {
        match parse_spec::<Spec>(std::path::Path::new("sales.yaml"), text) {
            Err(crate::Error::Spec { line, field, .. }) => (line, field),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_misspelt_key_is_named_with_its_own_line() {
        // Inside an internally tagged enum, which serde buffers before it reads it.
        let text = "id: sales\nsource:\n  kind: csv\n  paht: data/sales.csv\n";
        assert_eq!(fault(text), (4, "source.paht".to_string()));
        // At the top and in a flow mapping.
        assert_eq!(
            fault("id: sales\n\nsoruce: {}\n"),
            (3, "soruce".to_string())
        );
        let flow = "id: sales\nsource: {kind: csv,\n  path: a.csv, delim: x}\n";
        assert_eq!(fault(flow), (3, "source.delim".to_string()));
    }
}
