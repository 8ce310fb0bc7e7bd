//! Compiles a syntax tree into a matcher: fields resolved, literals parsed
//! for the field's kind, globs built, and a summary of what the filter
//! needs (columns, event types, process names) so that readers can skip
//! chunks and columns that cannot matter.

use std::collections::BTreeSet;
use std::net::IpAddr;

use capture_format::event::{Category, EventType};
use capture_format::file::{ChunkMeta, ChunkSummary, Event, Index, Projection};

use super::ast::{Expr, Literal, Op, Transform};
use super::error::FilterError;
use super::fields::{Env, Field, Kind, Value, deltatime, resolve, value};
use super::parser::parse;

/// A compiled filter.
#[derive(Debug, Clone)]
pub struct Filter {
    text: String,
    root: Node,
    projection: Projection,
    types: Option<BTreeSet<u16>>,
    comms: Option<BTreeSet<Vec<u8>>>,
    /// How many `evt.deltatime` checks the filter has (each keeps the time
    /// of the last event it was evaluated on).
    deltas: usize,
}

#[derive(Debug, Clone)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    Check(Field, Test),
    /// A check of `evt.deltatime` (`.s`, `.ns`), which counts from the last
    /// event this check was evaluated on (as in sysdig, after
    /// short-circuiting): the index of its slot in the matcher.
    Delta(Field, Test, usize),
    /// A check of a field's text after transformers (`tolower(proc.name)`),
    /// in the order they apply.
    Transformed(Field, Box<[Transform]>, Test),
}

#[derive(Debug, Clone)]
enum Test {
    Exists,
    /// `evt.type` against a set of types (without reading a string).
    Types(Vec<u16>),
    Num(Op, Vec<i128>),
    Bool(bool),
    Str(Op, Vec<Vec<u8>>),
    Glob(globset::GlobMatcher),
    /// A whole-value match (the pattern is anchored at compile time).
    Regex(regex::bytes::Regex),
    Ip(Op, Vec<IpAddr>),
    /// In one of the networks (address, prefix length).
    Net(Op, Vec<(IpAddr, u8)>),
}

impl Filter {
    /// Parses and compiles `text`.
    pub fn new(text: &str) -> Result<Self, FilterError> {
        let expr = parse(text)?;
        let mut deltas = 0;
        let mut root = compile(&expr, &mut deltas).map_err(|e| e.locate(text))?;
        let mut projection = Projection::MINIMAL;
        collect_projection(&root, &mut projection);
        // A check of `evt.deltatime` depends on which events it was
        // evaluated on before: every event reaches the filter, in the
        // order written, or `.scap` and `.syscap` would differ from sysdig.
        let (types, comms) = if deltas == 0 {
            type_first(&mut root);
            (types_of(&root), comms_of(&root))
        } else {
            (None, None)
        };
        Ok(Self {
            text: text.to_string(),
            types,
            comms,
            root,
            projection,
            deltas,
        })
    }

    /// Parses and compiles `text` for a place that evaluates events one at
    /// a time with no previous event (trigger rules, the filters of
    /// `trigger`, `capture` and `run`): `evt.deltatime` is refused there,
    /// with its span.
    pub fn per_event(text: &str) -> Result<Self, FilterError> {
        fn find(expr: &Expr) -> Option<super::error::Span> {
            match expr {
                Expr::And(parts) | Expr::Or(parts) => parts.iter().find_map(find),
                Expr::Not(inner) => find(inner),
                Expr::Check { field, .. } => matches!(
                    resolve(&field.name, field.arg.as_deref()),
                    Ok(Field::EvtDeltatime | Field::EvtDeltatimeS | Field::EvtDeltatimeNs)
                )
                .then_some(field.span),
            }
        }
        if let Some(span) = find(&parse(text)?) {
            return Err(FilterError::new(
                "evt.deltatime needs the previous event; not available in trigger rules \
                 and capture filters",
                span,
            )
            .locate(text));
        }
        Self::new(text)
    }

    /// True when the filter reads `evt.deltatime`, which needs every event
    /// in order (no event left out by type, no chunk skipped): readers see
    /// that [`Filter::event_types`] is `None` and [`Filter::may_match`]
    /// true.
    pub fn uses_previous(&self) -> bool {
        self.deltas > 0
    }

    /// The filter text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The chunk columns the filter reads.
    pub fn projection(&self) -> Projection {
        self.projection
    }

    /// The event types that can match, when the filter restricts them.
    pub fn event_types(&self) -> Option<impl Iterator<Item = EventType> + '_> {
        self.types.as_ref().map(|t| t.iter().map(|&t| EventType(t)))
    }

    /// False when the index shows that no event of the chunk can match.
    pub fn may_match(&self, chunk: &ChunkMeta, index: &Index) -> bool {
        let types_ok = self
            .types
            .as_ref()
            .is_none_or(|types| chunk.types.iter().any(|(t, _)| types.contains(&t.0)));
        let comms_ok = self
            .comms
            .as_ref()
            .is_none_or(|comms| chunk.comms.iter().any(|&c| comms.contains(index.comm(c))));
        types_ok && comms_ok
    }

    /// False when no event of a chunk with this summary can match (a chunk
    /// that is being read as it is built has a summary, not an index entry).
    pub fn may_match_summary(&self, chunk: &ChunkSummary) -> bool {
        let types_ok = self
            .types
            .as_ref()
            .is_none_or(|types| chunk.types.iter().any(|(t, _)| types.contains(&t.0)));
        let comms_ok = self.comms.as_ref().is_none_or(|comms| {
            chunk
                .processes
                .iter()
                .any(|(_, comm, _)| comms.contains(comm.as_slice()))
        });
        types_ok && comms_ok
    }

    /// Evaluates the filter on `e`, with a caller's scratch buffer.
    /// `evt.deltatime` counts from `env.previous` here (a [`Matcher`]
    /// keeps each check's own previous event).
    pub fn matches_with(&self, e: &Event<'_>, env: &Env, scratch: &mut Vec<u8>) -> bool {
        let mut state = State {
            scratch,
            previous: &mut [],
        };
        eval(&self.root, e, env, &mut state)
    }

    /// A matcher (it keeps a scratch buffer for computed values).
    pub fn matcher(&self) -> Matcher<'_> {
        Matcher {
            filter: self,
            scratch: Vec::new(),
            previous: vec![None; self.deltas],
        }
    }
}

/// What is known of a running process, for conditions on processes
/// (`process_down`): the process fields of the language.
#[derive(Clone, Debug, Default)]
pub struct ProcessFacts {
    /// `proc.pid`.
    pub pid: u64,
    /// `proc.ppid`.
    pub ppid: u64,
    /// `proc.name`.
    pub name: Vec<u8>,
    /// `proc.exe`.
    pub exe: Vec<u8>,
    /// `proc.exepath`.
    pub exepath: Vec<u8>,
    /// `proc.args`, space-separated.
    pub args: Vec<u8>,
    /// `proc.cwd`.
    pub cwd: Vec<u8>,
    /// `user.uid`.
    pub uid: u64,
    /// `user.name`.
    pub user: Vec<u8>,
    /// `container.id` (empty on the host).
    pub container_id: Vec<u8>,
}

impl ProcessFacts {
    fn value(&self, field: Field, scratch: &mut Vec<u8>) -> Option<Value<'_>> {
        Some(match field {
            Field::ProcPid => Value::Num(self.pid),
            Field::ProcPpid => Value::Num(self.ppid),
            Field::ProcName => Value::Str(&self.name),
            Field::ProcExe => Value::Str(&self.exe),
            Field::ProcExepath => Value::Str(&self.exepath),
            Field::ProcArgs => Value::Str(&self.args),
            Field::ProcCwd => Value::Str(&self.cwd),
            Field::UserUid => Value::Num(self.uid),
            Field::UserName => Value::Str(&self.user),
            Field::ContainerId if self.container_id.is_empty() => Value::Str(b"host"),
            Field::ContainerId => Value::Str(&self.container_id),
            Field::ProcCmdline => {
                scratch.clear();
                scratch.extend_from_slice(&self.name);
                if !self.args.is_empty() {
                    scratch.push(b' ');
                    scratch.extend_from_slice(&self.args);
                }
                return None;
            }
            _ => return None,
        })
    }
}

impl Filter {
    /// True when the filter reads only fields that [`ProcessFacts`] has.
    pub fn uses_only_process_fields(&self) -> bool {
        fn walk(node: &Node) -> bool {
            match node {
                Node::All(p) | Node::Any(p) => p.iter().all(walk),
                Node::Not(inner) => walk(inner),
                Node::Check(f, _) | Node::Delta(f, ..) | Node::Transformed(f, ..) => {
                    ProcessFacts::default().value(*f, &mut Vec::new()).is_some()
                        || *f == Field::ProcCmdline
                }
            }
        }
        walk(&self.root)
    }

    /// Evaluates the filter on a running process.
    pub fn matches_process(&self, p: &ProcessFacts) -> bool {
        fn eval_p(node: &Node, p: &ProcessFacts, scratch: &mut Vec<u8>) -> bool {
            match node {
                Node::All(parts) => parts.iter().all(|n| eval_p(n, p, scratch)),
                Node::Any(parts) => parts.iter().any(|n| eval_p(n, p, scratch)),
                Node::Not(inner) => !eval_p(inner, p, scratch),
                Node::Check(Field::ProcCmdline, test) => {
                    p.value(Field::ProcCmdline, scratch);
                    test_value(test, Value::Str(scratch))
                }
                Node::Check(f, test) | Node::Delta(f, test, _) => {
                    let v = p.value(*f, &mut Vec::new()).unwrap_or(Value::None);
                    test_value(test, v)
                }
                Node::Transformed(f, transforms, test) => {
                    if *f == Field::ProcCmdline {
                        p.value(Field::ProcCmdline, scratch);
                        return test_transformed(transforms, test, Value::Str(scratch));
                    }
                    let v = p.value(*f, &mut Vec::new()).unwrap_or(Value::None);
                    test_transformed(transforms, test, v)
                }
            }
        }
        eval_p(&self.root, p, &mut Vec::new())
    }
}

/// Evaluates a [`Filter`] on events, without allocating per event.
#[derive(Debug)]
pub struct Matcher<'f> {
    filter: &'f Filter,
    scratch: Vec<u8>,
    /// For each `evt.deltatime` check, the time of the last event it was
    /// evaluated on (as sysdig's filters: a check skipped by
    /// short-circuiting does not move on).
    previous: Vec<Option<u64>>,
}

impl Matcher<'_> {
    /// True when `e` matches.
    pub fn matches(&mut self, e: &Event<'_>, env: &Env) -> bool {
        let mut state = State {
            scratch: &mut self.scratch,
            previous: &mut self.previous,
        };
        eval(&self.filter.root, e, env, &mut state)
    }
}

/// What evaluation writes: the scratch buffer, and the previous times of
/// the `evt.deltatime` checks (empty: they count from `Env::previous`).
struct State<'s> {
    scratch: &'s mut Vec<u8>,
    previous: &'s mut [Option<u64>],
}

fn eval(node: &Node, e: &Event<'_>, env: &Env, state: &mut State<'_>) -> bool {
    match node {
        Node::All(parts) => parts.iter().all(|p| eval(p, e, env, state)),
        Node::Any(parts) => parts.iter().any(|p| eval(p, e, env, state)),
        Node::Not(inner) => !eval(inner, e, env, state),
        Node::Delta(field, test, slot) => {
            // A record is sysdig's exit event when the call returned: the
            // check was last evaluated at the return.
            let ts = if e.returned() { e.ts_exit() } else { e.ts() };
            let previous = match state.previous.get_mut(*slot) {
                Some(p) => p.replace(ts),
                None => env.previous,
            };
            test_value(test, deltatime(*field, ts, previous))
        }
        Node::Check(_, Test::Types(types)) => types.contains(&e.ty().0),
        Node::Check(Field::ProcAname(None), test) => {
            // Any ancestor.
            let Some(t) = e.thread() else { return false };
            t.ancestors()
                .any(|a| test_value(test, Value::Str(a.comm())))
        }
        Node::Check(Field::ProcApid(None), test) => {
            let Some(t) = e.thread() else { return false };
            t.ancestors()
                .any(|a| test_value(test, u64::try_from(a.pid()).map_or(Value::None, Value::Num)))
        }
        Node::Check(Field::EvtAround(center), Test::Num(_, d)) => {
            let delta = d.first().copied().unwrap_or(0).saturating_mul(1_000_000);
            (i128::from(e.ts()) - i128::from(*center)).abs() <= delta
        }
        Node::Transformed(field, transforms, test) => {
            let v = value(*field, e, env, state.scratch);
            test_transformed(transforms, test, v)
        }
        Node::Check(field, test) => {
            if let Some((client, server)) = either_end(*field) {
                return test_value(test, value(client, e, env, state.scratch))
                    || test_value(test, value(server, e, env, state.scratch));
            }
            let v = value(*field, e, env, state.scratch);
            test_value(test, v)
        }
    }
}

thread_local! {
    /// The text transformers write: two buffers (b64 decodes from one into
    /// the other), kept so that matching allocates nothing once warm.
    static TRANSFORMED: std::cell::RefCell<(Vec<u8>, Vec<u8>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Tests `v` after `transforms`; a value that is not text, or not base64
/// for `b64()`, fails.
fn test_transformed(transforms: &[Transform], test: &Test, v: Value<'_>) -> bool {
    use base64::Engine as _;
    let Value::Str(s) = v else {
        return false;
    };
    TRANSFORMED.with_borrow_mut(|(text, spare)| {
        text.clear();
        text.extend_from_slice(s);
        for t in transforms {
            match t {
                Transform::ToLower => text.make_ascii_lowercase(),
                Transform::ToUpper => text.make_ascii_uppercase(),
                Transform::B64 => {
                    spare.clear();
                    if B64.decode_vec(&text[..], spare).is_err() {
                        return false;
                    }
                    std::mem::swap(text, spare);
                }
            }
        }
        test_value(test, Value::Str(text))
    })
}

/// Standard base64, with or without its padding.
const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// The filter-only fields of either end of a connection (`fd.ip`,
/// `fd.port`, `fd.proto`, `fd.net`): the client's field and the server's.
fn either_end(field: Field) -> Option<(Field, Field)> {
    match field {
        Field::FdIp | Field::FdNet => Some((Field::FdCip, Field::FdSip)),
        Field::FdPort => Some((Field::FdCport, Field::FdSport)),
        Field::FdProto => Some((Field::FdCproto, Field::FdSproto)),
        _ => None,
    }
}

fn test_value(test: &Test, v: Value<'_>) -> bool {
    if matches!(v, Value::None) {
        return false;
    }
    match (test, v) {
        (Test::Exists, _) => true,
        (Test::Num(op, rhs), Value::Num(n) | Value::Frac(n)) => compare(*op, i128::from(n), rhs),
        (Test::Num(op, rhs), Value::Signed(n)) => compare(*op, i128::from(n), rhs),
        (Test::Bool(want), Value::Bool(b)) => *want == b,
        (Test::Str(op, needles), Value::Str(s)) => match_str(*op, s, needles),
        (Test::Glob(g), Value::Str(s)) => {
            use std::os::unix::ffi::OsStrExt;
            g.is_match(std::ffi::OsStr::from_bytes(s))
        }
        (Test::Regex(re), Value::Str(s)) => re.is_match(s),
        (Test::Ip(op, ips), Value::Ip(ip)) => {
            let hit = ips.iter().any(|&x| same_ip(x, ip));
            if *op == Op::Ne { !hit } else { hit }
        }
        (Test::Net(op, nets), Value::Ip(ip)) => {
            let hit = nets.iter().any(|&(net, len)| in_net(ip, net, len));
            if *op == Op::Ne { !hit } else { hit }
        }
        _ => false,
    }
}

/// IPv4-mapped IPv6 addresses equal their IPv4 form, as sysdig shows them.
fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// True when `ip` is in the network `net/len` (IPv4-mapped addresses
/// count as IPv4).
fn in_net(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip.to_canonical(), net.to_canonical()) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn compare(op: Op, lhs: i128, rhs: &[i128]) -> bool {
    let r = rhs.first().copied().unwrap_or(0);
    match op {
        Op::Eq => lhs == r,
        Op::Ne => lhs != r,
        Op::Lt => lhs < r,
        Op::Le => lhs <= r,
        Op::Gt => lhs > r,
        Op::Ge => lhs >= r,
        Op::In => rhs.contains(&lhs),
        _ => false,
    }
}

fn match_str(op: Op, s: &[u8], needles: &[Vec<u8>]) -> bool {
    let n = || needles.first().map_or(&[][..], Vec::as_slice);
    match op {
        Op::Eq => s == n(),
        Op::Ne => s != n(),
        Op::Contains | Op::BContains => memchr::memmem::find(s, n()).is_some(),
        Op::IContains => {
            let n = n();
            n.is_empty() || s.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
        }
        Op::StartsWith | Op::BStartsWith => s.starts_with(n()),
        Op::EndsWith => s.ends_with(n()),
        Op::In => needles.iter().any(|x| x == s),
        Op::Pmatch => needles.iter().any(|dir| {
            let dir = dir.strip_suffix(b"/").unwrap_or(dir);
            if dir.is_empty() {
                // `/` contains every absolute path.
                return s.starts_with(b"/");
            }
            s == dir || (s.starts_with(dir) && s.get(dir.len()) == Some(&b'/'))
        }),
        _ => false,
    }
}

/// Puts the type checks of each conjunction first: the checks are pure
/// (when no `evt.deltatime` counts the events they are evaluated on), and
/// the cheap one on the type column lets most events fail before a process
/// or fd is read.
fn type_first(node: &mut Node) {
    match node {
        Node::All(parts) => {
            parts.iter_mut().for_each(type_first);
            parts.sort_by_key(|p| !matches!(p, Node::Check(_, Test::Types(_))));
        }
        Node::Any(parts) => parts.iter_mut().for_each(type_first),
        Node::Not(inner) => type_first(inner),
        Node::Check(..) | Node::Delta(..) | Node::Transformed(..) => {}
    }
}

/// A check of `f`; `deltas` counts the `evt.deltatime` checks.
fn check(f: Field, test: Test, deltas: &mut usize) -> Node {
    if matches!(
        f,
        Field::EvtDeltatime | Field::EvtDeltatimeS | Field::EvtDeltatimeNs
    ) {
        *deltas += 1;
        return Node::Delta(f, test, *deltas - 1);
    }
    Node::Check(f, test)
}

fn compile(expr: &Expr, deltas: &mut usize) -> Result<Node, FilterError> {
    let mut all = |parts: &[Expr]| -> Result<Vec<Node>, FilterError> {
        parts.iter().map(|p| compile(p, deltas)).collect()
    };
    Ok(match expr {
        Expr::And(parts) => Node::All(all(parts)?),
        Expr::Or(parts) => Node::Any(all(parts)?),
        Expr::Not(inner) => Node::Not(Box::new(compile(inner, deltas)?)),
        Expr::Check { field, op, values } => {
            let f = resolve(&field.name, field.arg.as_deref())
                .map_err(|m| FilterError::new(m, field.span))?;
            // One value each, `intersects` is `in`; fields of several values
            // (proc.aname, fd.ip) try each.
            let op = &if *op == Op::Intersects { Op::In } else { *op };
            let transforms: Box<[Transform]> = field.transforms.clone().into();
            if let Some(t) = transforms.first() {
                if f.kind() != Kind::Str || matches!(f, Field::ProcAname(None)) {
                    return Err(FilterError::new(
                        format!(
                            "{}() applies to a text field, not {}",
                            t.text(),
                            field.name_text()
                        ),
                        field.span,
                    ));
                }
                let test = compile_str(*op, &field.name_text(), values)?;
                let mk = |test| Node::Transformed(f, transforms.clone(), test);
                return Ok(if *op == Op::Ne {
                    let Test::Str(_, v) = test else {
                        unreachable!("compile_str makes Str tests for '!='")
                    };
                    Node::All(vec![
                        mk(Test::Exists),
                        Node::Not(Box::new(mk(Test::Str(Op::Eq, v)))),
                    ])
                } else {
                    mk(test)
                });
            }
            let test = compile_test(f, &field.name_text(), *op, values)?;
            // `!=` is `not =`, so that a missing value fails both, as in
            // sysdig.
            // Fields of either end (fd.ip) are `not =` too: neither end
            // has the address.
            if *op == Op::Ne
                && (!matches!(test, Test::Ip(..) | Test::Net(..)) || either_end(f).is_some())
            {
                let eq = match test {
                    Test::Num(_, v) => Test::Num(Op::Eq, v),
                    Test::Str(_, v) => Test::Str(Op::Eq, v),
                    Test::Ip(_, v) => Test::Ip(Op::Eq, v),
                    Test::Net(_, v) => Test::Net(Op::Eq, v),
                    other => other,
                };
                return Ok(Node::All(vec![
                    check(f, Test::Exists, deltas),
                    Node::Not(Box::new(check(f, eq, deltas))),
                ]));
            }
            check(f, test, deltas)
        }
    })
}

fn compile_test(field: Field, name: &str, op: Op, values: &[Literal]) -> Result<Test, FilterError> {
    let kind = field.kind();
    let bad_op = |lit_span| {
        FilterError::new(
            format!("operator '{}' does not apply to {name}", op.text()),
            lit_span,
        )
    };
    let span = values.first().map(|v| v.span).unwrap_or_default();
    if op == Op::Exists {
        return Ok(Test::Exists);
    }
    if matches!(field, Field::EvtAround(_)) && op != Op::Eq {
        return Err(FilterError::new(
            format!("{name} takes '=' and a number of ms (evt.around[T]=D)"),
            span,
        ));
    }
    if let Some(test) = type_test(field, op, values) {
        return test;
    }
    // A raw argument is a number or text, as the literal says.
    if matches!(field, Field::EvtRawarg(_))
        && values
            .iter()
            .any(|v| parse_quantity(&v.text, Kind::Signed).is_none())
    {
        return compile_str(op, name, values);
    }
    match kind {
        Kind::Num | Kind::Signed | Kind::Duration | Kind::Size => {
            if !matches!(
                op,
                Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::In
            ) {
                return Err(bad_op(span));
            }
            let nums = values
                .iter()
                .map(|v| {
                    parse_quantity(&v.text, kind).ok_or_else(|| {
                        FilterError::new(
                            format!("'{}' is not a {} for {name}", v.text, kind_noun(kind)),
                            v.span,
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(Test::Num(op, nums))
        }
        Kind::Bool => {
            if !matches!(op, Op::Eq | Op::Ne) {
                return Err(bad_op(span));
            }
            let v = &values[0];
            let b = match v.text.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(FilterError::new(
                        format!("{name} is true or false, not '{}'", v.text),
                        v.span,
                    ));
                }
            };
            // `!=` is compiled as `not =` by the caller.
            Ok(Test::Bool(b))
        }
        Kind::Ip => {
            if !matches!(op, Op::Eq | Op::Ne | Op::In) {
                return Err(bad_op(span));
            }
            let ips = values
                .iter()
                .map(|v| {
                    v.text.parse::<IpAddr>().map_err(|_| {
                        FilterError::new(format!("'{}' is not an IP address", v.text), v.span)
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(Test::Ip(op, ips))
        }
        Kind::Net => compile_net(op, name, values),
        Kind::Str => compile_str(op, name, values),
    }
}

fn compile_net(op: Op, name: &str, values: &[Literal]) -> Result<Test, FilterError> {
    if !matches!(op, Op::Eq | Op::Ne | Op::In) {
        return Err(FilterError::new(
            format!("operator '{}' does not apply to {name}", op.text()),
            values.first().map(|v| v.span).unwrap_or_default(),
        ));
    }
    let nets = values
        .iter()
        .map(|v| {
            parse_net(&v.text).ok_or_else(|| {
                FilterError::new(
                    format!(
                        "'{}' is not a network (10.0.0.0/8, fd00::/8) or an IP address",
                        v.text
                    ),
                    v.span,
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Test::Net(op, nets))
}

/// The one line of a regex error that says what is wrong (the crate's
/// message also draws the pattern).
fn regex_problem(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(text) => text
            .lines()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or("syntax error")
            .to_owned(),
        regex::Error::CompiledTooBig(limit) => format!("it compiles to more than {limit} bytes"),
        other => other
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// `7f454c46` (either case) as bytes.
fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| (c as char).to_digit(16);
            #[expect(clippy::cast_possible_truncation, reason = "two hex digits fit a byte")]
            Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
        })
        .collect()
}

/// `10.0.0.0/8`, `fd00::/8`, or one address (a network of one).
fn parse_net(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = match text.split_once('/') {
        Some((ip, len)) => (ip.parse::<IpAddr>().ok()?, Some(len.parse::<u8>().ok()?)),
        None => (text.parse::<IpAddr>().ok()?, None),
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((ip, len))
}

fn compile_str(op: Op, name: &str, values: &[Literal]) -> Result<Test, FilterError> {
    let span = values.first().map(|v| v.span).unwrap_or_default();
    match op {
        Op::Lt | Op::Le | Op::Gt | Op::Ge => Err(FilterError::new(
            format!("operator '{}' does not apply to {name}", op.text()),
            span,
        )),
        Op::Glob | Op::IGlob => {
            let v = &values[0];
            let glob = globset::GlobBuilder::new(&v.text)
                .literal_separator(false)
                .backslash_escape(true)
                .case_insensitive(op == Op::IGlob)
                .build()
                .map_err(|e| FilterError::new(format!("bad glob: {}", e.kind()), v.span))?;
            Ok(Test::Glob(glob.compile_matcher()))
        }
        Op::Regex => {
            let v = &values[0];
            // Whole values, as libs' RE2 full match.
            let re = regex::bytes::Regex::new(&format!("^(?:{})$", v.text)).map_err(|e| {
                FilterError::new(format!("bad regex: {}", regex_problem(&e)), v.span)
            })?;
            Ok(Test::Regex(re))
        }
        Op::BContains | Op::BStartsWith => {
            let v = &values[0];
            let bytes = parse_hex(&v.text).ok_or_else(|| {
                FilterError::new(
                    format!(
                        "'{}' is not bytes in hex (an even number of 0-9, a-f: 7f454c46)",
                        v.text
                    ),
                    v.span,
                )
            })?;
            Ok(Test::Str(op, vec![bytes]))
        }
        _ => {
            let needles = values.iter().map(|v| v.text.as_bytes().to_vec()).collect();
            Ok(Test::Str(op, needles))
        }
    }
}

/// Tests on the event type, which compare type numbers, not names:
/// `evt.type = X`, `evt.type in (...)`, and `evt.is_io* = true` (a set of
/// types). `None` for anything else.
fn type_test(field: Field, op: Op, values: &[Literal]) -> Option<Result<Test, FilterError>> {
    // `evt.is_io* = true` is a set of event types: index it as one.
    if matches!(
        field,
        Field::EvtIsIo | Field::EvtIsIoRead | Field::EvtIsIoWrite
    ) && op == Op::Eq
        && values
            .first()
            .is_some_and(|v| v.text.eq_ignore_ascii_case("true"))
    {
        let wanted = match field {
            Field::EvtIsIoRead => Category::IO_READ,
            Field::EvtIsIoWrite => Category::IO_WRITE,
            _ => Category::IO_READ | Category::IO_WRITE,
        };
        let types = EventType::all()
            .filter(|t| t.info().category.intersects(wanted))
            .map(|t| t.0)
            .collect();
        return Some(Ok(Test::Types(types)));
    }
    if field == Field::EvtType {
        if !matches!(op, Op::Eq | Op::Ne | Op::In) {
            // Other tests on the name (startswith, glob...) go the general way.
            return None;
        }
        let types = values
            .iter()
            .map(|v| {
                EventType::from_name(&v.text).map(|t| t.0).ok_or_else(|| {
                    FilterError::new(format!("unknown event type '{}'", v.text), v.span)
                })
            })
            .collect::<Result<_, _>>();
        return Some(types.map(Test::Types));
    }
    None
}

fn kind_noun(kind: Kind) -> &'static str {
    match kind {
        Kind::Duration => "duration (10ms, 1.5s, 300us)",
        Kind::Size => "size (4096, 64KB, 1MiB)",
        Kind::Signed => "number",
        _ => "non-negative number",
    }
}

/// Duration suffixes, in ns.
const DURATION: &[(&str, f64)] = &[
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("ms", 1e6),
    ("s", 1e9),
    ("m", 60e9),
    ("h", 3600e9),
];

/// Size suffixes, in bytes.
const SIZE: &[(&str, f64)] = &[
    ("k", 1e3),
    ("K", 1e3),
    ("KB", 1e3),
    ("M", 1e6),
    ("MB", 1e6),
    ("G", 1e9),
    ("GB", 1e9),
    ("KiB", 1024.0),
    ("MiB", 1_048_576.0),
    ("GiB", 1_073_741_824.0),
];

/// Parses a number, with duration suffixes (`ns`, `us`, `ms`, `s`, `m`,
/// `h`) or size suffixes (`K`, `KB`, `KiB`, `M`...) for those kinds.
pub fn parse_quantity(text: &str, kind: Kind) -> Option<i128> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let (digits, suffix) = t.split_at(split);
    let units = match kind {
        Kind::Duration => DURATION,
        Kind::Size => SIZE,
        _ => &[],
    };
    let scale = if suffix.is_empty() {
        1.0
    } else {
        units.iter().find(|(u, _)| *u == suffix)?.1
    };
    if suffix.is_empty() || !digits.contains('.') {
        let whole: i128 = digits.parse().ok()?;
        #[expect(clippy::cast_possible_truncation, reason = "scales are whole numbers")]
        return whole.checked_mul(scale as i128);
    }
    let v: f64 = digits.parse().ok()?;
    #[expect(clippy::cast_possible_truncation, reason = "rounded; durations fit")]
    Some((v * scale).round() as i128)
}

fn collect_projection(node: &Node, p: &mut Projection) {
    match node {
        Node::All(parts) | Node::Any(parts) => parts.iter().for_each(|n| collect_projection(n, p)),
        Node::Not(inner) => collect_projection(inner, p),
        Node::Check(f, _) | Node::Delta(f, ..) | Node::Transformed(f, ..) => {
            *p |= f.projection();
        }
    }
}

/// The event types an event must have to match (`None`: any).
fn types_of(node: &Node) -> Option<BTreeSet<u16>> {
    match node {
        Node::Check(_, Test::Types(t)) => Some(t.iter().copied().collect()),
        Node::All(parts) => parts
            .iter()
            .filter_map(types_of)
            .reduce(|a, b| a.intersection(&b).copied().collect()),
        Node::Any(parts) => parts
            .iter()
            .map(types_of)
            .collect::<Option<Vec<_>>>()
            .map(|sets| sets.into_iter().flatten().collect()),
        Node::Not(_) | Node::Check(..) | Node::Delta(..) | Node::Transformed(..) => None,
    }
}

/// The process names an event must have to match (`None`: any).
fn comms_of(node: &Node) -> Option<BTreeSet<Vec<u8>>> {
    match node {
        // A thread whose name the capture never learned has an empty
        // command name in the index, and shows as `<NA>`.
        Node::Check(Field::ProcName, Test::Str(Op::Eq | Op::In, names)) => Some(
            names
                .iter()
                .flat_map(|n| {
                    let unknown = (n.as_slice() == b"<NA>").then(Vec::new);
                    std::iter::once(n.clone()).chain(unknown)
                })
                .collect(),
        ),
        Node::All(parts) => parts
            .iter()
            .filter_map(comms_of)
            .reduce(|a, b| a.intersection(&b).cloned().collect()),
        Node::Any(parts) => parts
            .iter()
            .map(comms_of)
            .collect::<Option<Vec<_>>>()
            .map(|sets| sets.into_iter().flatten().collect()),
        Node::Not(_) | Node::Check(..) | Node::Delta(..) | Node::Transformed(..) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_units() {
        let cases: &[(&str, Kind, Option<i128>)] = &[
            ("10ms", Kind::Duration, Some(10_000_000)),
            ("1.5s", Kind::Duration, Some(1_500_000_000)),
            ("300us", Kind::Duration, Some(300_000)),
            ("7", Kind::Duration, Some(7)),
            ("64KB", Kind::Size, Some(64_000)),
            ("1MiB", Kind::Size, Some(1_048_576)),
            ("-2", Kind::Signed, Some(-2)),
            ("10ms", Kind::Num, None),
            ("abc", Kind::Num, None),
            ("1e3", Kind::Num, None),
        ];
        for &(text, kind, want) in cases {
            assert_eq!(parse_quantity(text, kind), want, "{text}");
        }
    }

    #[test]
    fn hex_bytes() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("7f454c46", Some(b"\x7fELF")),
            ("CAFEbabe", Some(&[0xca, 0xfe, 0xba, 0xbe])),
            ("00", Some(&[0])),
            ("", None),
            ("7", None),
            ("7g", None),
            ("é1", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_hex(text).as_deref(), want, "{text}");
        }
    }

    #[test]
    fn transformers_and_string_operators() {
        let cases: &[(&str, &[Transform], &[u8], bool)] = &[
            ("= bash", &[Transform::ToLower], b"BaSh", true),
            ("= BASH", &[Transform::ToUpper], b"bash", true),
            ("= hello", &[Transform::B64], b"aGVsbG8=", true),
            ("= hello", &[Transform::B64], b"aGVsbG8", true),
            ("exists", &[Transform::B64], b"not base64!", false),
            (
                "= hello",
                &[Transform::B64, Transform::ToLower],
                b"SEVMTE8=",
                true,
            ),
            ("regex 'ba.h'", &[], b"bash", true),
            ("regex 'ba'", &[], b"bash", false),
            ("regex 'b.*'", &[], b"bash", true),
            ("iglob 'B*SH'", &[], b"bash", true),
            ("glob 'B*SH'", &[], b"bash", false),
            ("bcontains 6173", &[], b"bash", true),
            ("bstartswith 6173", &[], b"bash", false),
            ("bstartswith 6261", &[], b"bash", true),
            ("intersects (sh, bash)", &[], b"bash", true),
        ];
        for &(rest, transforms, text, want) in cases {
            let f = Filter::new(&format!("proc.name {rest}")).unwrap();
            let (Node::Check(_, test) | Node::Transformed(_, _, test)) = &f.root else {
                panic!("{rest}: {:?}", f.root);
            };
            let got = test_transformed(transforms, test, Value::Str(text));
            assert_eq!(got, want, "{transforms:?} {rest} on {text:?}");
        }
    }

    #[test]
    fn process_conditions_take_transformers() {
        let p = ProcessFacts {
            name: b"Nginx".to_vec(),
            args: b"-g daemon".to_vec(),
            ..ProcessFacts::default()
        };
        let cases: &[(&str, bool)] = &[
            ("tolower(proc.name) = nginx", true),
            ("toupper(proc.name) = nginx", false),
            ("tolower(proc.cmdline) = 'nginx -g daemon'", true),
            ("proc.name regex 'N.*x'", true),
            ("proc.name iglob 'ng*'", true),
        ];
        for &(text, want) in cases {
            let f = Filter::new(text).unwrap();
            assert!(f.uses_only_process_fields(), "{text}");
            assert_eq!(f.matches_process(&p), want, "{text}");
        }
    }

    #[test]
    fn type_checks_come_first_in_a_conjunction() {
        // (filter, the parts in evaluation order: the type check first,
        // then the others as written)
        let cases: &[(&str, &[&str])] = &[
            (
                "proc.name = curl and evt.type = connect",
                &["Types", "ProcName"],
            ),
            (
                "fd.num > 2 and proc.pid > 1 and evt.type in (read, write)",
                &["Types", "FdNum", "ProcPid"],
            ),
            (
                "evt.type = open and proc.name = curl",
                &["Types", "ProcName"],
            ),
        ];
        for &(text, want) in cases {
            let f = Filter::new(text).unwrap();
            let Node::All(parts) = &f.root else {
                panic!("{text}: {:?}", f.root);
            };
            let got: Vec<String> = parts
                .iter()
                .map(|p| match p {
                    Node::Check(_, Test::Types(_)) => "Types".to_owned(),
                    Node::Check(field, _) => format!("{field:?}"),
                    other => format!("{other:?}"),
                })
                .collect();
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn deltatime_keeps_the_order_written_and_every_event() {
        // (filter, uses the previous event, the types readers may select)
        let cases: &[(&str, bool, bool)] = &[
            ("evt.type = read and evt.dir = <", false, true),
            ("evt.deltatime < 20000 and evt.type = read", true, false),
            ("evt.type = read and evt.deltatime.ns > 5", true, false),
            ("not evt.deltatime.s != 1", true, false),
        ];
        for &(text, previous, types) in cases {
            let f = Filter::new(text).unwrap();
            assert_eq!(f.uses_previous(), previous, "{text}");
            assert_eq!(f.event_types().is_some(), types, "{text}");
            if let Node::All(parts) = &f.root {
                // Not reordered when a check counts the events it sees.
                let first_is_type = matches!(parts[0], Node::Check(_, Test::Types(_)));
                assert_eq!(first_is_type, text.starts_with("evt.type"), "{text}");
            }
        }
    }

    #[test]
    fn per_event_filters_refuse_deltatime() {
        // (filter, the column of the refused field: 0 when accepted)
        let cases: &[(&str, usize)] = &[
            ("evt.type = read", 0),
            ("evt.deltatime > 5", 1),
            ("evt.type = read and evt.deltatime.s > 1", 21),
            ("proc.name = a or not evt.deltatime.ns = 1", 22),
        ];
        for &(text, column) in cases {
            match Filter::per_event(text) {
                Ok(_) => assert_eq!(column, 0, "{text}"),
                Err(e) => {
                    assert_eq!(e.column, column, "{text}: {e}");
                    assert!(e.message.contains("needs the previous event"), "{e}");
                }
            }
        }
    }

    #[test]
    fn networks() {
        let cases: &[(&str, &str, bool)] = &[
            ("10.1.2.3", "10.0.0.0/8", true),
            ("11.1.2.3", "10.0.0.0/8", false),
            ("10.1.2.3", "10.1.2.3", true),
            ("10.1.2.3", "0.0.0.0/0", true),
            ("::ffff:10.1.2.3", "10.0.0.0/8", true),
            ("fd00::1", "fd00::/8", true),
            ("fe00::1", "fd00::/8", false),
            ("10.1.2.3", "fd00::/8", false),
        ];
        for &(ip, net, want) in cases {
            let (n, len) = parse_net(net).unwrap();
            assert_eq!(in_net(ip.parse().unwrap(), n, len), want, "{ip} in {net}");
        }
        for bad in ["10.0.0.0/33", "10.0.0/8", "x", "::/129", "10.0.0.0/"] {
            assert_eq!(parse_net(bad), None, "{bad}");
        }
    }

    #[test]
    fn compile_errors_name_the_problem() {
        let cases: &[(&str, &str)] = &[
            (
                "proc.nme = nginx",
                "unknown field 'proc.nme' (did you mean proc.name?) at 1:1",
            ),
            ("evt.type = opne", "unknown event type 'opne' at 1:12"),
            (
                "evt.latency > fast",
                "'fast' is not a duration (10ms, 1.5s, 300us) for evt.latency at 1:15",
            ),
            (
                "evt.latency contains 3",
                "operator 'contains' does not apply to evt.latency at 1:22",
            ),
            (
                "evt.failed = maybe",
                "evt.failed is true or false, not 'maybe' at 1:14",
            ),
            ("fd.sip = 10.0.0", "'10.0.0' is not an IP address at 1:10"),
            (
                "evt.type > a",
                "operator '>' does not apply to evt.type at 1:12",
            ),
            (
                "proc.name > a",
                "operator '>' does not apply to proc.name at 1:13",
            ),
            (
                "fd.net = 10.0.0.0/33",
                "'10.0.0.0/33' is not a network (10.0.0.0/8, fd00::/8) or an IP address at 1:10",
            ),
            (
                "evt.around[1000] > 5",
                "evt.around[1000] takes '=' and a number of ms (evt.around[T]=D) at 1:20",
            ),
            ("fd.name regex 'a(b'", "bad regex: unclosed group at 1:15"),
            (
                "evt.buffer bcontains 7f4",
                "'7f4' is not bytes in hex (an even number of 0-9, a-f: 7f454c46) at 1:22",
            ),
            (
                "evt.buffer bstartswith zz",
                "'zz' is not bytes in hex (an even number of 0-9, a-f: 7f454c46) at 1:24",
            ),
            (
                "tolower(proc.pid) = 1",
                "tolower() applies to a text field, not proc.pid at 1:1",
            ),
            (
                "proc.pid regex 1",
                "operator 'regex' does not apply to proc.pid at 1:16",
            ),
            (
                "fd.name glob '[a'",
                "bad glob: unclosed character class; missing ']' at 1:14",
            ),
        ];
        for &(text, want) in cases {
            assert_eq!(Filter::new(text).unwrap_err().to_string(), want, "{text}");
        }
    }

    #[test]
    fn summaries_for_skipping() {
        let types = |text: &str| {
            Filter::new(text)
                .unwrap()
                .event_types()
                .map(|t| t.map(EventType::name).collect::<Vec<_>>())
        };
        assert_eq!(types("evt.type=open and proc.name=x"), Some(vec!["open"]));
        assert_eq!(
            types("evt.type in (open, read) and evt.type=read"),
            Some(vec!["read"])
        );
        assert_eq!(
            types("evt.type=open or evt.type=close"),
            Some(vec!["open", "close"])
        );
        assert_eq!(types("evt.type=open or proc.name=x"), None);
        assert_eq!(types("not evt.type=open"), None);
        let f = Filter::new("proc.name=nginx and fd.num > 2").unwrap();
        assert!(f.projection().contains(Projection::THREAD | Projection::FD));
        assert!(!f.projection().contains(Projection::ARGS));
        assert_eq!(f.comms.as_ref().map(BTreeSet::len), Some(1));
    }
}
