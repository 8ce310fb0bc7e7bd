//! Filter errors: what is wrong and where, as `line:column` and as a caret
//! under the filter text.

/// A byte range of the filter text.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span.
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }
}

/// Why a filter is not valid.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{message} at {line}:{column}")]
pub struct FilterError {
    /// What is wrong.
    pub message: String,
    /// Where, in bytes.
    pub span: Span,
    /// Line, from 1.
    pub line: usize,
    /// Column (characters), from 1.
    pub column: usize,
}

impl FilterError {
    pub(crate) fn new(message: impl Into<String>, span: Span) -> Self {
        Self {
            message: message.into(),
            span,
            line: 1,
            column: span.start + 1,
        }
    }

    /// Computes the line and column of the span in `text`.
    pub(crate) fn locate(mut self, text: &str) -> Self {
        let start = self.span.start.min(text.len());
        let before = &text[..floor_char_boundary(text, start)];
        self.line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        self.column = before[line_start..].chars().count() + 1;
        self
    }

    /// The line of `text` with the error, and a caret under it:
    ///
    /// ```text
    /// proc.nme = nginx
    /// ^^^^^^^^
    /// ```
    pub fn caret(&self, text: &str) -> String {
        let line = text.lines().nth(self.line - 1).unwrap_or("");
        let width = text
            .get(self.span.start..self.span.end.min(text.len()))
            .map_or(1, |s| s.chars().count().max(1));
        format!(
            "{line}\n{}{}",
            " ".repeat(self.column - 1),
            "^".repeat(width)
        )
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_and_draws_a_caret() {
        let text = "proc.name = a and\n  fd.nme = b";
        let e = FilterError::new("unknown field", Span::new(20, 26)).locate(text);
        assert_eq!((e.line, e.column), (2, 3));
        assert_eq!(e.to_string(), "unknown field at 2:3");
        assert_eq!(e.caret(text), "  fd.nme = b\n  ^^^^^^");
    }
}
