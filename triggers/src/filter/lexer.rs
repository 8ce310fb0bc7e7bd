//! Splits filter text into tokens, each with its byte span.

use super::error::{FilterError, Span};

/// A token.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum Tok {
    /// A field name or a bare word value (`proc.name`, `nginx`, `/etc/x`).
    Word(String),
    /// A quoted string, escapes resolved.
    Quoted(String),
    LParen,
    RParen,
    Comma,
    /// A comparison operator written with symbols.
    Op(&'static str),
}

/// A token and where it is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

const SYMBOL_OPS: [&str; 7] = ["==", "!=", "<=", ">=", "=", "<", ">"];

/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | ',' | '=' | '<' | '>' | '!' | '"' | '\'')
}

pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(tok) = single {
            chars.next();
            out.push(Token {
                tok,
                span: Span::new(start, start + 1),
            });
            continue;
        }
        if let Some(op) = SYMBOL_OPS.iter().find(|op| text[start..].starts_with(**op)) {
            for _ in 0..op.len() {
                chars.next();
            }
            out.push(Token {
                tok: Tok::Op(op),
                span: Span::new(start, start + op.len()),
            });
            continue;
        }
        if c == '!' {
            return Err(FilterError::new(
                "'!' must be followed by '='",
                Span::new(start, start + 1),
            ));
        }
        if c == '"' || c == '\'' {
            out.push(quoted(text, &mut chars, start, c)?);
            continue;
        }
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if ends_word(c) {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        out.push(Token {
            tok: Tok::Word(text[start..end].to_string()),
            span: Span::new(start, end),
        });
    }
    Ok(out)
}

fn quoted(
    text: &str,
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    start: usize,
    quote: char,
) -> Result<Token, FilterError> {
    chars.next();
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => {
                return Ok(Token {
                    tok: Tok::Quoted(value),
                    span: Span::new(start, i + 1),
                });
            }
            '\\' => {
                let Some((j, e)) = chars.next() else { break };
                value.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    '\\' | '"' | '\'' => e,
                    _ => {
                        return Err(FilterError::new(
                            format!("unknown escape '\\{e}'"),
                            Span::new(j - 1, j + e.len_utf8()),
                        ));
                    }
                });
            }
            c => value.push(c),
        }
    }
    Err(FilterError::new(
        "unterminated string",
        Span::new(start, text.len()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Tok> {
        tokenize(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens() {
        use Tok::*;
        let w = |s: &str| Word(s.into());
        assert_eq!(
            kinds("proc.name=nginx and fd.name!='/etc/x y'"),
            [
                w("proc.name"),
                Op("="),
                w("nginx"),
                w("and"),
                w("fd.name"),
                Op("!="),
                Quoted("/etc/x y".into())
            ]
        );
        assert_eq!(
            kinds("evt.latency>=10ms"),
            [w("evt.latency"), Op(">="), w("10ms")]
        );
        assert_eq!(
            kinds("evt.type in (open,openat)"),
            [
                w("evt.type"),
                w("in"),
                LParen,
                w("open"),
                Comma,
                w("openat"),
                RParen
            ]
        );
        assert_eq!(kinds(r#""a\"b\n""#), [Quoted("a\"b\n".into())]);
    }

    #[test]
    fn errors_have_spans() {
        let e = tokenize("proc.name = 'abc").unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.span.start),
            ("unterminated string", 12)
        );
        let e = tokenize("a ! b").unwrap_err();
        assert_eq!(e.span.start, 2);
        let e = tokenize(r"x='\q'").unwrap_err();
        assert_eq!(e.span.start, 3);
    }
}
