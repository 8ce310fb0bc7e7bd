//! Parses filter text into an [`Expr`], with sysdig's and Falco's syntax:
//! `and`, `or`, `not`, parentheses, `field op value`, `field in (a, b)`,
//! `field exists`.

use super::ast::{Expr, FieldRef, Literal, Op, Transform};
use super::error::{FilterError, Span};
use super::lexer::{Tok, Token, tokenize};

/// Nesting deeper than this is refused (and cannot overflow the stack).
pub const MAX_DEPTH: usize = 128;

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    end: usize,
    depth: usize,
}

/// Parses `text`.
pub fn parse(text: &str) -> Result<Expr, FilterError> {
    parse_inner(text).map_err(|e| e.locate(text))
}

fn parse_inner(text: &str) -> Result<Expr, FilterError> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err(FilterError::new("empty filter", Span::new(0, 0)));
    }
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        end: text.len(),
        depth: 0,
    };
    let expr = p.or()?;
    if let Some(t) = p.peek() {
        let what = match &t.tok {
            Tok::RParen => "unbalanced ')'".to_string(),
            _ => format!(
                "expected 'and', 'or' or the end, found {}",
                describe(&t.tok)
            ),
        };
        return Err(FilterError::new(what, t.span));
    }
    Ok(expr)
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Word(w) => format!("'{w}'"),
        Tok::Quoted(q) => format!("\"{q}\""),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Op(o) => format!("'{o}'"),
    }
}

fn is_keyword(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<&Token> {
        let t = self.tokens.get(self.pos);
        self.pos += 1;
        t
    }

    /// A span just after the last token, for "expected ... at the end".
    fn eof_span(&self) -> Span {
        Span::new(self.end, self.end)
    }

    fn keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if is_keyword(w, keyword))
    }

    fn enter(&mut self, span: Span) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::new(
                format!("the filter nests deeper than {MAX_DEPTH} levels"),
                span,
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut parts = vec![self.and()?];
        while self.keyword("or") {
            self.next();
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut parts = vec![self.not()?];
        while self.keyword("and") {
            self.next();
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Expr::And(parts)
        })
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        if self.keyword("not") {
            let span = self.next().map(|t| t.span).unwrap_or_default();
            self.enter(span)?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        let Some(t) = self.next().cloned() else {
            return Err(FilterError::new(
                "expected a condition at the end",
                self.eof_span(),
            ));
        };
        match t.tok {
            Tok::LParen => {
                self.enter(t.span)?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.next() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => Ok(inner),
                    Some(other) => Err(FilterError::new(
                        format!("expected ')', found {}", describe(&other.tok)),
                        other.span,
                    )),
                    None => Err(FilterError::new("unbalanced '('", t.span)),
                }
            }
            Tok::Word(w) if ["and", "or"].iter().any(|k| is_keyword(&w, k)) => Err(
                FilterError::new(format!("expected a condition before '{w}'"), t.span),
            ),
            Tok::Word(w) if self.transformer_call(&w) => {
                let field = self.transformed(&w, t.span)?;
                self.check(field)
            }
            Tok::Word(w) => self.check(field_ref(&w, t.span)?),
            other => Err(FilterError::new(
                format!("expected a field, found {}", describe(&other)),
                t.span,
            )),
        }
    }

    /// True when `word` names a transformer and a '(' follows it.
    fn transformer_call(&self, word: &str) -> bool {
        Transform::from_word(word).is_some()
            && matches!(
                self.peek(),
                Some(Token {
                    tok: Tok::LParen,
                    ..
                })
            )
    }

    /// `tolower(FIELD)`, `toupper(b64(FIELD))`: the '(' is next.
    fn transformed(&mut self, word: &str, span: Span) -> Result<FieldRef, FilterError> {
        let transform = Transform::from_word(word).expect("checked by transformer_call");
        self.next();
        self.enter(span)?;
        let inner = match self.next().cloned() {
            Some(Token {
                tok: Tok::Word(w),
                span,
            }) if self.transformer_call(&w) => self.transformed(&w, span)?,
            Some(Token {
                tok: Tok::Word(w),
                span,
            }) if !["and", "or", "not"].iter().any(|k| is_keyword(&w, k)) => field_ref(&w, span)?,
            Some(other) => {
                return Err(FilterError::new(
                    format!(
                        "expected a field in {word}(), found {}",
                        describe(&other.tok)
                    ),
                    other.span,
                ));
            }
            None => {
                return Err(FilterError::new(
                    format!("expected a field in {word}()"),
                    self.eof_span(),
                ));
            }
        };
        self.depth -= 1;
        match self.next().cloned() {
            Some(Token {
                tok: Tok::RParen,
                span: close,
            }) => {
                let mut field = inner;
                field.transforms.push(transform);
                field.span = Span::new(span.start, close.end);
                Ok(field)
            }
            Some(other) => Err(FilterError::new(
                format!(
                    "expected ')' after the field of {word}(), found {}",
                    describe(&other.tok)
                ),
                other.span,
            )),
            None => Err(FilterError::new(
                format!("expected ')' to close {word}("),
                self.eof_span(),
            )),
        }
    }

    fn check(&mut self, field: FieldRef) -> Result<Expr, FilterError> {
        let field_span = field.span;
        let op = match self.next().cloned() {
            Some(Token {
                tok: Tok::Op(symbol),
                span,
            }) => (
                Op::from_symbol(symbol).expect("lexer emits known operators"),
                span,
            ),
            Some(Token {
                tok: Tok::Word(w),
                span,
            }) => match Op::from_word(&w.to_ascii_lowercase()) {
                Some(op) => (op, span),
                None => {
                    return Err(FilterError::new(
                        format!(
                            "expected an operator after '{}', found '{w}'",
                            field.name_text()
                        ),
                        span,
                    ));
                }
            },
            Some(other) => {
                return Err(FilterError::new(
                    format!(
                        "expected an operator after '{}', found {}",
                        field.name_text(),
                        describe(&other.tok)
                    ),
                    other.span,
                ));
            }
            None => {
                return Err(FilterError::new(
                    format!("expected an operator after '{}'", field.name_text()),
                    Span::new(field_span.end, field_span.end),
                ));
            }
        };
        let (op, op_span) = op;
        let values = match op {
            Op::Exists => Vec::new(),
            Op::In | Op::Pmatch | Op::Intersects => self.list(op, op_span)?,
            _ => vec![self.value(op, op_span)?],
        };
        Ok(Expr::Check { field, op, values })
    }

    fn value(&mut self, op: Op, op_span: Span) -> Result<Literal, FilterError> {
        match self.next().cloned() {
            Some(Token {
                tok: Tok::Word(text) | Tok::Quoted(text),
                span,
            }) => Ok(Literal { text, span }),
            // sysdig's `evt.dir = <`: a direction symbol is a value here.
            Some(Token {
                tok: Tok::Op(sym @ ("<" | ">")),
                span,
            }) => Ok(Literal {
                text: sym.to_owned(),
                span,
            }),
            Some(other) => Err(FilterError::new(
                format!(
                    "expected a value after '{}', found {}",
                    op.text(),
                    describe(&other.tok)
                ),
                other.span,
            )),
            None => Err(FilterError::new(
                format!("expected a value after '{}'", op.text()),
                Span::new(op_span.end, op_span.end),
            )),
        }
    }

    fn list(&mut self, op: Op, op_span: Span) -> Result<Vec<Literal>, FilterError> {
        match self.next() {
            Some(Token {
                tok: Tok::LParen, ..
            }) => {}
            Some(other) => {
                return Err(FilterError::new(
                    format!("expected '(' after '{}'", op.text()),
                    other.span,
                ));
            }
            None => {
                return Err(FilterError::new(
                    format!("expected '(' after '{}'", op.text()),
                    Span::new(op_span.end, op_span.end),
                ));
            }
        }
        let mut values = Vec::new();
        loop {
            values.push(self.value(op, op_span)?);
            match self.next().cloned() {
                Some(Token {
                    tok: Tok::Comma, ..
                }) => {}
                Some(Token {
                    tok: Tok::RParen, ..
                }) => return Ok(values),
                Some(other) => {
                    return Err(FilterError::new(
                        format!("expected ',' or ')', found {}", describe(&other.tok)),
                        other.span,
                    ));
                }
                None => {
                    return Err(FilterError::new(
                        "expected ')' to close the list",
                        self.eof_span(),
                    ));
                }
            }
        }
    }
}

impl FieldRef {
    /// The field as written (without its transformers).
    pub fn name_text(&self) -> String {
        match &self.arg {
            Some(a) if ["evt.arg", "evt.rawarg", "evt.type.is"].contains(&self.name.as_str()) => {
                format!("{}.{a}", self.name)
            }
            Some(a) => format!("{}[{a}]", self.name),
            None => self.name.clone(),
        }
    }
}

/// Splits `evt.arg.fd`, `evt.arg[0]` and `proc.aname[2]` into name and
/// argument.
pub(crate) fn field_ref(word: &str, span: Span) -> Result<FieldRef, FilterError> {
    if let Some(open) = word.find('[') {
        let Some(inner) = word[open + 1..].strip_suffix(']') else {
            return Err(FilterError::new(format!("expected ']' in '{word}'"), span));
        };
        return Ok(FieldRef {
            name: word[..open].to_string(),
            arg: Some(inner.to_string()),
            transforms: Vec::new(),
            span,
        });
    }
    // sysdig's spelling of a pod label: k8s.pod.label.KEY.
    for prefix in ["evt.arg.", "evt.rawarg.", "evt.type.is.", "k8s.pod.label."] {
        if let Some(arg) = word.strip_prefix(prefix) {
            return Ok(FieldRef {
                name: prefix.trim_end_matches('.').to_string(),
                arg: Some(arg.to_string()),
                transforms: Vec::new(),
                span,
            });
        }
    }
    Ok(FieldRef {
        name: word.to_string(),
        arg: None,
        transforms: Vec::new(),
        span,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(field: &str, op: Op, values: &[&str]) -> Expr {
        Expr::Check {
            field: field_ref(field, Span::default()).unwrap(),
            op,
            values: values
                .iter()
                .map(|v| Literal {
                    text: (*v).to_string(),
                    span: Span::default(),
                })
                .collect(),
        }
    }

    /// Clears spans so trees compare by shape.
    fn shape(e: Expr) -> Expr {
        match e {
            Expr::And(v) => Expr::And(v.into_iter().map(shape).collect()),
            Expr::Or(v) => Expr::Or(v.into_iter().map(shape).collect()),
            Expr::Not(b) => Expr::Not(Box::new(shape(*b))),
            Expr::Check {
                mut field,
                op,
                mut values,
            } => {
                field.span = Span::default();
                for v in &mut values {
                    v.span = Span::default();
                }
                Expr::Check { field, op, values }
            }
        }
    }

    #[test]
    fn parses_sysdig_syntax() {
        let cases: Vec<(&str, Expr)> = vec![
            ("proc.name=nginx", check("proc.name", Op::Eq, &["nginx"])),
            (
                "evt.type in (open, openat) and not fd.name startswith /proc",
                Expr::And(vec![
                    check("evt.type", Op::In, &["open", "openat"]),
                    Expr::Not(Box::new(check("fd.name", Op::StartsWith, &["/proc"]))),
                ]),
            ),
            (
                "a=1 or b=2 and c=3",
                Expr::Or(vec![
                    check("a", Op::Eq, &["1"]),
                    Expr::And(vec![check("b", Op::Eq, &["2"]), check("c", Op::Eq, &["3"])]),
                ]),
            ),
            (
                "(a=1 or b=2) and c exists",
                Expr::And(vec![
                    Expr::Or(vec![check("a", Op::Eq, &["1"]), check("b", Op::Eq, &["2"])]),
                    check("c", Op::Exists, &[]),
                ]),
            ),
            ("evt.arg.fd = 3", check("evt.arg.fd", Op::Eq, &["3"])),
            ("evt.dir=<", check("evt.dir", Op::Eq, &["<"])),
            ("evt.dir != >", check("evt.dir", Op::Ne, &[">"])),
            (
                "proc.aname[2] = bash",
                check("proc.aname[2]", Op::Eq, &["bash"]),
            ),
            (
                "fd.name pmatch (/etc, /usr)",
                check("fd.name", Op::Pmatch, &["/etc", "/usr"]),
            ),
            (
                "proc.aname intersects (bash, sh)",
                check("proc.aname", Op::Intersects, &["bash", "sh"]),
            ),
            (
                "fd.name regex '.*[.]so'",
                check("fd.name", Op::Regex, &[".*[.]so"]),
            ),
            (
                "evt.buffer bcontains 7f454c46",
                check("evt.buffer", Op::BContains, &["7f454c46"]),
            ),
            (
                "tolower(b64(proc.name)) iglob 'A*'",
                Expr::Check {
                    field: FieldRef {
                        transforms: vec![Transform::B64, Transform::ToLower],
                        ..field_ref("proc.name", Span::default()).unwrap()
                    },
                    op: Op::IGlob,
                    values: vec![Literal {
                        text: "A*".into(),
                        span: Span::default(),
                    }],
                },
            ),
            (
                "A = 'x y' AND B != \"z\"",
                Expr::And(vec![
                    check("A", Op::Eq, &["x y"]),
                    check("B", Op::Ne, &["z"]),
                ]),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(shape(parse(text).unwrap()), want, "{text}");
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        let cases: &[(&str, &str)] = &[
            ("proc.name =", "expected a value after '=' at 1:12"),
            (
                "proc.name",
                "expected an operator after 'proc.name' at 1:10",
            ),
            (
                "proc.name = a and",
                "expected a condition at the end at 1:18",
            ),
            ("(proc.name = a", "unbalanced '(' at 1:1"),
            ("proc.name = a)", "unbalanced ')' at 1:14"),
            ("and x = 1", "expected a condition before 'and' at 1:1"),
            ("x in 1", "expected '(' after 'in' at 1:6"),
            ("x in (1 2)", "expected ',' or ')', found '2' at 1:9"),
            (
                "x frobs 1",
                "expected an operator after 'x', found 'frobs' at 1:3",
            ),
            ("", "empty filter at 1:1"),
            (
                "tolower(proc.name",
                "expected ')' to close tolower( at 1:18",
            ),
            (
                "toupper() = a",
                "expected a field in toupper(), found ')' at 1:9",
            ),
            (
                "b64(a b) = 1",
                "expected ')' after the field of b64(), found 'b' at 1:7",
            ),
            ("x intersects 1", "expected '(' after 'intersects' at 1:14"),
            (
                "x = 1 y = 2",
                "expected 'and', 'or' or the end, found 'y' at 1:7",
            ),
        ];
        for &(text, want) in cases {
            assert_eq!(parse(text).unwrap_err().to_string(), want, "{text}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}x=1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(
            parse(&deep)
                .unwrap_err()
                .message
                .contains("deeper than 128")
        );
        let nots = format!("{}x=1", "not ".repeat(10_000));
        assert!(parse(&nots).is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::parse;
    use crate::filter::Filter;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Any text parses or fails with a located error; never a panic.
        #[test]
        fn any_text_is_safe(text in "\\PC{0,80}") {
            if let Err(e) = Filter::new(&text) {
                prop_assert!(e.line >= 1 && e.column >= 1);
                let _ = e.caret(&text);
            }
        }

        /// Text made of the language's own pieces exercises deeper paths.
        #[test]
        fn pieces_are_safe(words in proptest::collection::vec(prop_oneof![
            Just("proc.name"), Just("evt.type"), Just("evt.latency"), Just("fd.sip"), Just("="),
            Just("!="), Just(">="), Just("in"), Just("("), Just(")"), Just(","), Just("and"),
            Just("or"), Just("not"), Just("exists"), Just("glob"), Just("'x*'"), Just("10ms"),
            Just("open"), Just("1.2.3.4"), Just("evt.arg.fd"), Just("proc.aname[2]"),
            Just("regex"), Just("'a.*('"), Just("iglob"), Just("bcontains"), Just("bstartswith"),
            Just("7f45"), Just("intersects"), Just("tolower"), Just("toupper"), Just("b64"),
            Just("fd.net"), Just("10.0.0.0/8"), Just("evt.around[1]"), Just("fd.ip"),
        ], 0..24)) {
            let text = words.join(" ");
            let _ = parse(&text);
            let _ = Filter::new(&text);
        }
    }
}
