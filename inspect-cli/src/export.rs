//! `syscap export --format parquet`: one row per call, one Parquet file per
//! capture, in a Hive layout (`dt=YYYY-MM-DD/host=HOST/`) that Athena,
//! Trino, Spark and `DuckDB` read with their partitions.
//!
//! Values come from the filter language's field extraction, as `syscap
//! print -p '%FIELD'` shows them (text unescaped: Parquet strings are
//! UTF-8, bytes that are not become U+FFFD). Rows are buffered a row group
//! at a time (at most [`ROW_GROUP_ROWS`] rows or [`ROW_GROUP_SPAN`] of
//! time), so memory stays bounded whatever the capture's size.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use capture_format::escape::escaped;
use capture_format::file::{Event, Projection};
use inspect_cli::print::write_value;
use parquet::basic::{Compression, ZstdLevel};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use triggers::filter::fields::{ArgSel, value};
use triggers::filter::{Env, Field, Value};

use crate::stream::{StreamArgs, create_output, removing_on_error};

/// Rows in a row group at most.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Time a row group spans at most, ns: engines skip row groups by their
/// `ts` statistics.
pub const ROW_GROUP_SPAN: u64 = 60 * 1_000_000_000;

/// A column's Parquet type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Type {
    /// INT64, TIMESTAMP(NANOS, UTC).
    Timestamp,
    /// INT64.
    Int64,
    /// INT32.
    Int32,
    /// BOOLEAN.
    Bool,
    /// `BYTE_ARRAY`, `STRING` (dictionary encoded).
    Text,
}

/// Where a column's value comes from.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// The call's entry time.
    Time,
    /// The capture's header: host name.
    Host,
    /// The capture's id (its file name when the header has none).
    Capture,
    /// The rule that triggered the capture.
    Rule,
    /// The arguments, as a JSON object of name to text.
    Args,
    /// A field of the filter language.
    Field(&'static str),
}

/// One column: name, type, whether it may be null, source, meaning.
struct Column {
    name: &'static str,
    ty: Type,
    optional: bool,
    source: Source,
}

const fn col(name: &'static str, ty: Type, optional: bool, source: Source) -> Column {
    Column {
        name,
        ty,
        optional,
        source,
    }
}

/// The columns, in file order. The README's table lists them.
const COLUMNS: &[Column] = &[
    col("ts", Type::Timestamp, false, Source::Time),
    col("hostname", Type::Text, false, Source::Host),
    col("capture", Type::Text, false, Source::Capture),
    col("rule", Type::Text, true, Source::Rule),
    col("evt_num", Type::Int64, false, Source::Field("evt.num")),
    col("evt_type", Type::Text, false, Source::Field("evt.type")),
    col(
        "evt_category",
        Type::Text,
        true,
        Source::Field("evt.category"),
    ),
    col("res", Type::Int64, true, Source::Field("evt.rawres")),
    col("failed", Type::Bool, true, Source::Field("evt.failed")),
    col(
        "latency_ns",
        Type::Int64,
        true,
        Source::Field("evt.latency"),
    ),
    col("proc_name", Type::Text, true, Source::Field("proc.name")),
    col("proc_exe", Type::Text, true, Source::Field("proc.exe")),
    col(
        "proc_cmdline",
        Type::Text,
        true,
        Source::Field("proc.cmdline"),
    ),
    col("proc_pid", Type::Int64, true, Source::Field("proc.pid")),
    col("proc_ppid", Type::Int64, true, Source::Field("proc.ppid")),
    col("thread_tid", Type::Int64, true, Source::Field("thread.tid")),
    col("user_name", Type::Text, true, Source::Field("user.name")),
    col(
        "container_id",
        Type::Text,
        true,
        Source::Field("container.id"),
    ),
    col(
        "container_name",
        Type::Text,
        true,
        Source::Field("container.name"),
    ),
    col(
        "container_image",
        Type::Text,
        true,
        Source::Field("container.image"),
    ),
    col(
        "k8s_ns_name",
        Type::Text,
        true,
        Source::Field("k8s.ns.name"),
    ),
    col(
        "k8s_pod_name",
        Type::Text,
        true,
        Source::Field("k8s.pod.name"),
    ),
    col("fd_name", Type::Text, true, Source::Field("fd.name")),
    col("fd_type", Type::Text, true, Source::Field("fd.type")),
    col("fd_cip", Type::Text, true, Source::Field("fd.cip")),
    col("fd_sip", Type::Text, true, Source::Field("fd.sip")),
    col("fd_cport", Type::Int32, true, Source::Field("fd.cport")),
    col("fd_sport", Type::Int32, true, Source::Field("fd.sport")),
    col("io_bytes", Type::Int64, true, Source::Field("evt.buflen")),
    col("args", Type::Text, true, Source::Args),
];

/// The Parquet schema of [`COLUMNS`], in the schema parser's text.
fn schema_text() -> String {
    let mut s = String::from("message syscap_call {\n");
    for c in COLUMNS {
        let rep = if c.optional { "optional" } else { "required" };
        let ty = match c.ty {
            Type::Timestamp => "int64 %s (TIMESTAMP(NANOS,true))",
            Type::Int64 => "int64 %s",
            Type::Int32 => "int32 %s",
            Type::Bool => "boolean %s",
            Type::Text => "binary %s (STRING)",
        };
        let _ = writeln!(s, "  {rep} {};", ty.replace("%s", c.name));
    }
    s.push('}');
    s
}

/// A column's values of the row group being built, with their definition
/// levels when the column may be null.
enum Values {
    Int64(Vec<i64>),
    Int32(Vec<i32>),
    Bool(Vec<bool>),
    Text(Vec<ByteArray>),
}

struct Buffer {
    values: Values,
    defs: Vec<i16>,
    optional: bool,
}

impl Buffer {
    fn new(c: &Column) -> Self {
        let values = match c.ty {
            Type::Timestamp | Type::Int64 => Values::Int64(Vec::new()),
            Type::Int32 => Values::Int32(Vec::new()),
            Type::Bool => Values::Bool(Vec::new()),
            Type::Text => Values::Text(Vec::new()),
        };
        Self {
            values,
            defs: Vec::new(),
            optional: c.optional,
        }
    }

    fn null(&mut self) {
        self.defs.push(0);
    }

    fn present(&mut self) {
        if self.optional {
            self.defs.push(1);
        }
    }

    fn int(&mut self, n: Option<i64>) {
        let Some(n) = n else { return self.null() };
        self.present();
        match &mut self.values {
            Values::Int64(v) => v.push(n),
            Values::Int32(v) => v.push(i32::try_from(n).unwrap_or(-1)),
            Values::Bool(v) => v.push(n != 0),
            Values::Text(_) => self.text(n.to_string().as_bytes()),
        }
    }

    fn text(&mut self, bytes: &[u8]) {
        let Values::Text(v) = &mut self.values else {
            return;
        };
        // Names repeat from call to call: the previous value's bytes are
        // shared rather than copied.
        if let Some(last) = v.last().filter(|l| l.data() == bytes) {
            let shared = last.clone();
            v.push(shared);
            return;
        }
        let owned = match String::from_utf8_lossy(bytes) {
            std::borrow::Cow::Borrowed(_) => bytes.to_vec(),
            std::borrow::Cow::Owned(s) => s.into_bytes(),
        };
        v.push(ByteArray::from(owned));
    }

    fn put(&mut self, v: &Value<'_>, scratch: &mut Vec<u8>) {
        match (v, &self.values) {
            (Value::None, _) => self.null(),
            (Value::Bool(b), Values::Bool(_)) => self.int(Some(i64::from(*b))),
            (Value::Num(n) | Value::Frac(n), Values::Int64(_) | Values::Int32(_)) => {
                self.int(i64::try_from(*n).ok());
            }
            (Value::Signed(n), Values::Int64(_) | Values::Int32(_)) => self.int(Some(*n)),
            (Value::Str(s), Values::Text(_)) => {
                self.present();
                self.text(s);
            }
            (other, Values::Text(_)) => {
                scratch.clear();
                write_value(other, scratch);
                self.present();
                self.text(scratch);
            }
            // A value of another kind than the column's: none.
            _ => self.null(),
        }
    }

    fn clear(&mut self) {
        self.defs.clear();
        match &mut self.values {
            Values::Int64(v) => v.clear(),
            Values::Int32(v) => v.clear(),
            Values::Bool(v) => v.clear(),
            Values::Text(v) => v.clear(),
        }
    }
}

/// A Parquet file being written, a row group at a time.
struct ParquetOut<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    buffers: Vec<Buffer>,
    fields: Vec<Option<Field>>,
    rows: usize,
    group_start: u64,
    host: ByteArray,
    capture: ByteArray,
    rule: Option<ByteArray>,
    scratch: Vec<u8>,
    args: Vec<u8>,
}

/// The facts of a capture every row repeats.
pub struct CaptureFacts {
    pub host: String,
    pub capture: String,
    pub rule: Option<String>,
}

impl<W: Write + Send> ParquetOut<W> {
    fn new(out: W, facts: &CaptureFacts) -> anyhow::Result<Self> {
        let schema = Arc::new(parquet::schema::parser::parse_message_type(&schema_text())?);
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_dictionary_enabled(true)
            .set_max_row_group_size(ROW_GROUP_ROWS)
            .set_created_by(format!("syscap {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = SerializedFileWriter::new(out, schema, Arc::new(props))?;
        let fields = COLUMNS
            .iter()
            .map(|c| match c.source {
                Source::Field(name) => triggers::filter::field(name)
                    .map(Some)
                    .map_err(|e| anyhow::anyhow!("column {}: {e}", c.name)),
                _ => Ok(None),
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            writer,
            buffers: COLUMNS.iter().map(Buffer::new).collect(),
            fields,
            rows: 0,
            group_start: 0,
            host: ByteArray::from(facts.host.as_str()),
            capture: ByteArray::from(facts.capture.as_str()),
            rule: facts.rule.as_deref().map(ByteArray::from),
            scratch: Vec::new(),
            args: Vec::new(),
        })
    }

    fn row(&mut self, e: &Event<'_>, env: &Env) -> anyhow::Result<()> {
        let ts = e.ts();
        if self.rows > 0
            && (self.rows >= ROW_GROUP_ROWS || ts.abs_diff(self.group_start) >= ROW_GROUP_SPAN)
        {
            self.flush()?;
        }
        if self.rows == 0 {
            self.group_start = ts;
        }
        for (i, c) in COLUMNS.iter().enumerate() {
            let buffer = &mut self.buffers[i];
            match c.source {
                Source::Time => buffer.int(i64::try_from(ts).ok()),
                Source::Host => push_shared(buffer, &self.host),
                Source::Capture => push_shared(buffer, &self.capture),
                Source::Rule => match &self.rule {
                    Some(r) => push_shared(buffer, r),
                    None => buffer.null(),
                },
                Source::Args => {
                    args_json(e, env, &mut self.args, &mut self.scratch);
                    buffer.present();
                    buffer.text(&self.args);
                }
                Source::Field(_) => {
                    let Some(field) = self.fields[i] else {
                        continue;
                    };
                    let v = value(field, e, env, &mut self.scratch);
                    buffer.put(&v, &mut self.args);
                }
            }
        }
        self.rows += 1;
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group()?;
        let mut i = 0;
        while let Some(mut column) = group.next_column()? {
            let b = &self.buffers[i];
            let defs = b.optional.then_some(&b.defs[..]);
            match &b.values {
                Values::Int64(v) => {
                    column.typed::<Int64Type>().write_batch(v, defs, None)?;
                }
                Values::Int32(v) => {
                    column.typed::<Int32Type>().write_batch(v, defs, None)?;
                }
                Values::Bool(v) => {
                    column.typed::<BoolType>().write_batch(v, defs, None)?;
                }
                Values::Text(v) => {
                    column.typed::<ByteArrayType>().write_batch(v, defs, None)?;
                }
            }
            column.close()?;
            i += 1;
        }
        group.close()?;
        for b in &mut self.buffers {
            b.clear();
        }
        self.rows = 0;
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<W> {
        self.flush()?;
        Ok(self.writer.into_inner()?)
    }
}

fn push_shared(buffer: &mut Buffer, value: &ByteArray) {
    buffer.present();
    if let Values::Text(v) = &mut buffer.values {
        v.push(value.clone());
    }
}

/// The call's arguments as a JSON object of name to text, each as
/// `%evt.arg.NAME` shows it (unescaped).
fn args_json(e: &Event<'_>, env: &Env, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    out.clear();
    out.push(b'{');
    let mut text = Vec::new();
    for (i, def) in e.ty().info().args.iter().enumerate() {
        let Ok(index) = u32::try_from(i) else { break };
        let v = value(Field::EvtArg(ArgSel::Index(index)), e, env, scratch);
        if matches!(v, Value::None) {
            continue;
        }
        text.clear();
        match v {
            Value::Str(s) => text.extend_from_slice(s),
            other => write_value(&other, &mut text),
        }
        if out.len() > 1 {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut *out, def.name);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, String::from_utf8_lossy(&text).as_ref());
    }
    out.push(b'}');
}

/// The name a capture's file is given: its file name without the
/// capture's extension.
fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(|| "stdin".into(), |n| n.to_string_lossy().into_owned());
    for ext in [".syscap", ".scap.gz", ".scap"] {
        if let Some(s) = name.strip_suffix(ext)
            && !s.is_empty()
        {
            return s.to_owned();
        }
    }
    name
}

/// A partition value safe as one path component: letters, digits, `.`,
/// `_` and `-`; anything else becomes `_` (`unknown` when empty).
fn path_safe(s: &str) -> String {
    let safe: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match safe.as_str() {
        "" | "." | ".." => "unknown".into(),
        _ => safe,
    }
}

/// `syscap export`: each capture of `args` to `DIR/dt=DAY/host=HOST/NAME.parquet`
/// (or `DIR/NAME.parquet` when `flat`).
pub fn run(args: &StreamArgs, dir: &Path, flat: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let stream = args.open_streaming(None)?;
    let mut written = std::collections::HashSet::new();
    for (i, input) in stream.inputs.iter().enumerate() {
        let header = input.reader.header();
        let name = stem(&input.path);
        let facts = CaptureFacts {
            host: header.hostname.clone(),
            capture: if header.capture_id.is_empty() {
                name.clone()
            } else {
                header.capture_id.clone()
            },
            rule: header.trigger.as_ref().map(|t| t.rule.clone()),
        };
        let start = if header.start_ts > 0 {
            header.start_ts
        } else {
            input.reader.index().ts_min
        };
        let path = if flat {
            dir.to_path_buf()
        } else {
            let day = jiff::Timestamp::from_nanosecond(i128::from(start))
                .unwrap_or_default()
                .strftime("%Y-%m-%d")
                .to_string();
            dir.join(format!("dt={day}"))
                .join(format!("host={}", path_safe(&facts.host)))
        }
        .join(format!("{}.parquet", path_safe(&name)));
        let shown = escaped(path.as_os_str().as_encoded_bytes()).into_owned();
        if !written.insert(path.clone()) {
            anyhow::bail!(
                "{}: export to {shown}: another capture was written there (same name, host and day)",
                input.path.display()
            );
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let mut env = stream.env.clone();
        env.trigger_rule = facts.rule.clone().unwrap_or_default();
        let rows = export_one(&stream, i, &path, &facts, &env)
            .with_context(|| format!("{}: export to {shown}", input.path.display()))?;
        writeln!(out, "{rows} calls written to {shown}")?;
    }
    Ok(())
}

fn export_one(
    stream: &crate::stream::Stream,
    input: usize,
    path: &Path,
    facts: &CaptureFacts,
    env: &Env,
) -> anyhow::Result<u64> {
    let file = create_output(path)?;
    removing_on_error(path, || {
        let mut parquet = ParquetOut::new(std::io::BufWriter::new(file), facts)?;
        let mut rows = 0u64;
        stream.for_each_event_of(Some(input), Projection::ALL, |e| {
            parquet.row(e, env)?;
            rows += 1;
            Ok(true)
        })?;
        let buffered = parquet.finish()?;
        buffered
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(rows)
    })
}

/// The engines `syscap export --ddl` writes table definitions for.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Engine {
    /// A `DuckDB` view over the tree.
    Duckdb,
    /// An Athena external table with partition projection.
    Athena,
}

/// The table definition of the export layout under `location` (a
/// directory for `DuckDB`, `s3://BUCKET/PREFIX` for Athena).
pub fn ddl(engine: Engine, location: &str) -> String {
    let location = location.trim_end_matches('/').replace('\'', "''");
    match engine {
        Engine::Duckdb => format!(
            "CREATE VIEW syscap_calls AS\n  SELECT * FROM read_parquet('{location}/**/*.parquet',\n    \
             hive_partitioning = true, hive_types = {{'dt': DATE, 'host': VARCHAR}});\n"
        ),
        Engine::Athena => {
            let mut s = String::from("CREATE EXTERNAL TABLE syscap_calls (\n");
            for (i, c) in COLUMNS.iter().enumerate() {
                let ty = match c.ty {
                    Type::Timestamp => "timestamp",
                    Type::Int64 => "bigint",
                    Type::Int32 => "int",
                    Type::Bool => "boolean",
                    Type::Text => "string",
                };
                let comma = if i + 1 < COLUMNS.len() { "," } else { "" };
                let _ = writeln!(s, "  `{}` {ty}{comma}", c.name);
            }
            let _ = write!(
                s,
                ")\nPARTITIONED BY (`dt` string, `host` string)\nSTORED AS PARQUET\n\
                 LOCATION '{location}/'\nTBLPROPERTIES (\n  \
                 'projection.enabled' = 'true',\n  \
                 'projection.dt.type' = 'date',\n  \
                 'projection.dt.format' = 'yyyy-MM-dd',\n  \
                 'projection.dt.range' = '2020-01-01,NOW',\n  \
                 'projection.dt.interval' = '1',\n  \
                 'projection.dt.interval.unit' = 'DAYS',\n  \
                 'projection.host.type' = 'injected',\n  \
                 'storage.location.template' = '{location}/dt=${{dt}}/host=${{host}}/'\n);\n\
                 -- host is injected: queries name their hosts (host IN (...)); for\n\
                 -- questions over every host, drop the projection and load the\n\
                 -- partitions with MSCK REPAIR TABLE syscap_calls.\n"
            );
            s
        }
    }
}

/// The README's column table (kept by a test equal to the README's).
#[cfg(test)]
pub fn column_table() -> String {
    let mut s = String::from("| column | type | value |\n|---|---|---|\n");
    for c in COLUMNS {
        let ty = match c.ty {
            Type::Timestamp => "TIMESTAMP (ns, UTC)",
            Type::Int64 => "BIGINT",
            Type::Int32 => "INT",
            Type::Bool => "BOOLEAN",
            Type::Text => "STRING",
        };
        let what = match c.source {
            Source::Time => "`evt.rawtime` (the call's entry)".to_owned(),
            Source::Host => "the capture's host name".to_owned(),
            Source::Capture => "the capture's id (its file name if none)".to_owned(),
            Source::Rule => "the rule that triggered the capture".to_owned(),
            Source::Args => "the arguments: JSON object of name to `%evt.arg.NAME`".to_owned(),
            Source::Field(f) => format!("`{f}`"),
        };
        let null = if c.optional { "" } else { " (never null)" };
        let _ = writeln!(s, "| `{}` | {ty} | {what}{null} |", c.name);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_parses_and_fields_resolve() {
        parquet::schema::parser::parse_message_type(&schema_text()).unwrap();
        for c in COLUMNS {
            if let Source::Field(f) = c.source {
                triggers::filter::field(f).unwrap();
            }
        }
    }

    #[test]
    fn ddl_names_every_column_and_the_location() {
        let athena = ddl(Engine::Athena, "s3://b/it's/");
        for c in COLUMNS {
            assert!(athena.contains(&format!("`{}` ", c.name)), "{}", c.name);
        }
        assert!(athena.contains("LOCATION 's3://b/it''s/'"), "{athena}");
        assert!(
            athena.contains("'s3://b/it''s/dt=${dt}/host=${host}/'"),
            "{athena}"
        );
        let duck = ddl(Engine::Duckdb, "/data/calls");
        assert!(
            duck.contains("read_parquet('/data/calls/**/*.parquet'"),
            "{duck}"
        );
    }

    #[test]
    fn names() {
        for (path, want) in [
            ("/a/web-1.syscap", "web-1"),
            ("x.scap.gz", "x"),
            ("x.scap", "x"),
            (".syscap", ".syscap"),
            ("plain", "plain"),
        ] {
            assert_eq!(stem(Path::new(path)), want, "{path}");
        }
        for (host, want) in [
            ("web-1", "web-1"),
            ("", "unknown"),
            ("..", "unknown"),
            ("a/b c", "a_b_c"),
        ] {
            assert_eq!(path_safe(host), want, "{host:?}");
        }
    }

    #[test]
    fn readme_lists_the_columns() {
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(&column_table()),
            "README's export table differs; it should be:\n{}",
            column_table()
        );
    }
}
