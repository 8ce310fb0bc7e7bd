//! A YAML document as a tree whose every node knows its line and column,
//! so that rule errors can say where they are.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in the rules file (1-based).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Pos {
    /// Line.
    pub line: usize,
    /// Column.
    pub column: usize,
}

impl From<Marker> for Pos {
    fn from(m: Marker) -> Self {
        Self {
            line: m.line(),
            column: m.col() + 1,
        }
    }
}

/// How a scalar was written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Style {
    /// Plain: its text starts where the scalar starts.
    Plain,
    /// In single quotes: its text starts one column later.
    SingleQuoted,
    /// Double-quoted, literal (`|`) or folded (`>`): escapes and line
    /// breaks make columns inside it not map to the file.
    Other,
}

/// A YAML node.
#[derive(Clone, PartialEq, Debug)]
pub enum Node {
    /// A scalar, and how it was written.
    Scalar(String, Style, Pos),
    /// A sequence.
    Seq(Vec<Node>, Pos),
    /// A mapping, in file order.
    Map(Vec<(Node, Node)>, Pos),
}

impl Node {
    /// Where it starts.
    pub fn pos(&self) -> Pos {
        match self {
            Node::Scalar(_, _, p) | Node::Seq(_, p) | Node::Map(_, p) => *p,
        }
    }
}

#[derive(Default)]
struct Builder {
    stack: Vec<Node>,
    done: Option<Node>,
    error: Option<(String, Pos)>,
}

impl Builder {
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(Node::Seq(items, _)) => items.push(node),
            Some(Node::Map(entries, _)) => match entries.last_mut() {
                // A key waits for its value (recorded as an empty sequence
                // placeholder).
                Some((_, Node::Seq(v, p))) if v.is_empty() && p.line == 0 => {
                    entries.last_mut().expect("checked").1 = node;
                }
                _ => entries.push((node, Node::Seq(Vec::new(), Pos::default()))),
            },
            _ => self.done = Some(node),
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::from(mark);
        match ev {
            Event::Scalar(text, style, _, _) => {
                let style = match style {
                    TScalarStyle::Plain => Style::Plain,
                    TScalarStyle::SingleQuoted => Style::SingleQuoted,
                    _ => Style::Other,
                };
                self.push(Node::Scalar(text, style, pos));
            }
            Event::SequenceStart(..) => self.stack.push(Node::Seq(Vec::new(), pos)),
            Event::MappingStart(..) => self.stack.push(Node::Map(Vec::new(), pos)),
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(node) = self.stack.pop() {
                    self.push(node);
                }
            }
            Event::Alias(_) if self.error.is_none() => {
                self.error = Some(("aliases (*name) are not supported".into(), pos));
            }
            _ => {}
        }
    }
}

/// Parses the first document of `text`; `Err` gives the message and where.
pub fn parse(text: &str) -> Result<Option<Node>, (String, Pos)> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut b, false)
        .map_err(|e| (e.info().to_string(), Pos::from(*e.marker())))?;
    if let Some(err) = b.error {
        return Err(err);
    }
    Ok(b.done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_marked_tree() {
        let text = "rules:\n  - name: a\n    cooldown: 5m\n";
        let Some(Node::Map(top, _)) = parse(text).unwrap() else {
            panic!("not a map")
        };
        let (Node::Scalar(key, _, kpos), Node::Seq(items, _)) = &top[0] else {
            panic!("shape")
        };
        assert_eq!((key.as_str(), kpos.line, kpos.column), ("rules", 1, 1));
        let Node::Map(rule, _) = &items[0] else {
            panic!("rule")
        };
        let (Node::Scalar(k, _, p), Node::Scalar(v, style, _)) = &rule[1] else {
            panic!("entry")
        };
        assert_eq!(
            (k.as_str(), v.as_str(), *style, p.line, p.column),
            ("cooldown", "5m", Style::Plain, 3, 5)
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let (msg, pos) = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(!msg.is_empty());
        assert!(pos.line >= 1);
        assert!(parse("a: &x 1\nb: *x\n").is_err());
    }
}
