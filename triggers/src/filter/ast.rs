//! The syntax tree of a filter.

use super::error::Span;

/// A comparison operator.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    /// `=` or `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// Substring.
    Contains,
    /// Substring, ignoring ASCII case.
    IContains,
    /// Prefix.
    StartsWith,
    /// Suffix.
    EndsWith,
    /// Shell glob (`*`, `?`, `[...]`).
    Glob,
    /// Equal to one of a list.
    In,
    /// Inside one of a list of directories (or equal to one).
    Pmatch,
    /// The field has a value.
    Exists,
    /// Matches a regular expression, whole (RE2 syntax, as the `regex`
    /// crate reads it).
    Regex,
    /// Shell glob, ignoring ASCII case.
    IGlob,
    /// Contains bytes, written in hex (`evt.buffer bcontains 7f454c46`).
    BContains,
    /// Starts with bytes, written in hex.
    BStartsWith,
    /// A value of the field (several for `proc.aname`, `fd.ip`...) is one
    /// of a list.
    Intersects,
}

impl Op {
    /// The operator as written.
    pub fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::IContains => "icontains",
            Op::StartsWith => "startswith",
            Op::EndsWith => "endswith",
            Op::Glob => "glob",
            Op::In => "in",
            Op::Pmatch => "pmatch",
            Op::Exists => "exists",
            Op::Regex => "regex",
            Op::IGlob => "iglob",
            Op::BContains => "bcontains",
            Op::BStartsWith => "bstartswith",
            Op::Intersects => "intersects",
        }
    }

    pub(crate) fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "contains" => Op::Contains,
            "icontains" => Op::IContains,
            "startswith" => Op::StartsWith,
            "endswith" => Op::EndsWith,
            "glob" => Op::Glob,
            "in" => Op::In,
            "pmatch" => Op::Pmatch,
            "exists" => Op::Exists,
            "regex" => Op::Regex,
            "iglob" => Op::IGlob,
            "bcontains" => Op::BContains,
            "bstartswith" => Op::BStartsWith,
            "intersects" => Op::Intersects,
            _ => return None,
        })
    }

    pub(crate) fn from_symbol(symbol: &str) -> Option<Self> {
        Some(match symbol {
            "=" | "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            _ => return None,
        })
    }
}

/// A literal value.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Literal {
    /// The text (escapes resolved for quoted strings).
    pub text: String,
    /// Where.
    pub span: Span,
}

/// A transformer of a field's text: `tolower(proc.name)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Transform {
    /// `tolower()`: ASCII letters to lower case.
    ToLower,
    /// `toupper()`: ASCII letters to upper case.
    ToUpper,
    /// `b64()`: base64 decoded (no value when it is not base64).
    B64,
}

impl Transform {
    /// The transformer as written, without its parentheses.
    pub fn text(self) -> &'static str {
        match self {
            Transform::ToLower => "tolower",
            Transform::ToUpper => "toupper",
            Transform::B64 => "b64",
        }
    }

    pub(crate) fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "tolower" => Transform::ToLower,
            "toupper" => Transform::ToUpper,
            "b64" => Transform::B64,
            _ => return None,
        })
    }
}

/// A field reference: `proc.name`, `evt.arg.fd`, `proc.aname[2]`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FieldRef {
    /// The field's name without its argument (`evt.arg`, `proc.aname`).
    pub name: String,
    /// The argument: `fd` in `evt.arg.fd`, `2` in `proc.aname[2]`.
    pub arg: Option<String>,
    /// Transformers, in the order they apply: `tolower(b64(x))` is
    /// `[B64, ToLower]`.
    pub transforms: Vec<Transform>,
    /// Where.
    pub span: Span,
}

/// A filter expression.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Expr {
    /// All must hold.
    And(Vec<Expr>),
    /// One must hold.
    Or(Vec<Expr>),
    /// Must not hold.
    Not(Box<Expr>),
    /// A field compared with values.
    Check {
        /// The field.
        field: FieldRef,
        /// The operator.
        op: Op,
        /// The values (none for `exists`, several for `in`, `intersects`
        /// and `pmatch`).
        values: Vec<Literal>,
    },
}
