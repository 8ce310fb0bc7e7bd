//! `syscap ls` and `syscap get`: the captures an agent stored, and copies of
//! them here.

use std::io::Write;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use capture_format::escape::escaped;
use capture_store::{CrcCheck, StoredObject, parse_key_name, safe_local_path};
use inspect_cli::remote;
use inspect_cli::window::parse_since;
use serde::Serialize;

#[derive(Serialize)]
struct Row {
    key: String,
    time: String,
    host: String,
    rule: String,
    duration_s: f64,
    events: u64,
    bytes: u64,
    /// The rule's tags, from `tag-NAME` metadata (names in lower case).
    tags: std::collections::BTreeMap<String, String>,
}

fn meta<'a>(o: &'a StoredObject, name: &str) -> Option<&'a str> {
    o.metadata
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn row(o: &StoredObject) -> Row {
    let num = |name| {
        meta(o, name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (start, end) = (num("start"), num("end"));
    let (stamp, rule, _) = parse_key_name(&o.key).unwrap_or_default();
    Row {
        key: o.key.clone(),
        time: if start > 0 {
            crate::info::format_ts(start)
        } else {
            stamp
        },
        host: meta(o, "host").map_or_else(
            || o.key.split('/').rev().nth(4).unwrap_or_default().to_owned(),
            capture_store::metadata_text,
        ),
        rule: meta(o, "rule").map_or(rule, capture_store::metadata_text),
        duration_s: end.saturating_sub(start) as f64 / 1e9,
        events: num("events"),
        bytes: o.size,
        tags: o
            .metadata
            .iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix(capture_store::TAG_METADATA_PREFIX)?;
                Some((name.to_owned(), capture_store::metadata_text(v)))
            })
            .collect(),
    }
}

/// Lists the captures under `url`, newest last.
pub fn ls(
    url: &str,
    host: Option<&str>,
    rule: Option<&str>,
    since: Option<&str>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (store, prefix) = remote::open(url)?;
    let now = jiff::Zoned::now();
    let since = since
        .map(|t| parse_since(t, &now).context("--since"))
        .transpose()?;
    let objects = remote::runtime().block_on(store.list(&prefix))?;
    let mut rows: Vec<Row> = objects
        .iter()
        .map(row)
        .filter(|r| host.is_none_or(|h| r.host == h))
        .filter(|r| rule.is_none_or(|x| r.rule == x))
        .collect();
    if let Some(since) = since {
        rows.retain(|r| {
            objects
                .iter()
                .find(|o| o.key == r.key)
                .and_then(|o| meta(o, "end"))
                .and_then(|v| v.parse::<u64>().ok())
                .is_none_or(|end| end >= since)
        });
    }
    rows.sort_by(|a, b| a.time.cmp(&b.time).then(a.key.cmp(&b.key)));
    if json {
        for r in &rows {
            writeln!(out, "{}", serde_json::to_string(r)?)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<31} {:<16} {:<24} {:>9} {:>10} {:>10}  KEY",
        "TIME", "HOST", "RULE", "DURATION", "EVENTS", "SIZE"
    )?;
    // Keys and metadata are whoever wrote to the bucket's: escaped.
    for r in &rows {
        // A capture an Alertmanager alert started names the alert too.
        let rule = match r.tags.get("alertname") {
            Some(alert) => format!("{} (alert {alert})", r.rule),
            None => r.rule.clone(),
        };
        writeln!(
            out,
            "{:<31} {:<16} {:<24} {:>8.1}s {:>10} {:>10}  {}",
            escaped(&r.time),
            escaped(&r.host),
            escaped(&rule),
            r.duration_s,
            r.events,
            inspect_cli::units::human_bytes(r.bytes),
            escaped(&r.key)
        )?;
    }
    Ok(())
}

/// How `get` treats what is already there and what it cannot check.
#[derive(Clone, Copy, Debug, Default)]
pub struct GetOptions {
    /// Replace files that exist.
    pub force: bool,
    /// Keep objects that cannot be verified (no CRC32, unreadable CRC32
    /// metadata, not a capture).
    pub no_verify: bool,
}

/// One object to download.
struct Planned {
    url: String,
    store: std::sync::Arc<capture_store::Store>,
    key: String,
    to: PathBuf,
}

/// Downloads each of `urls` into `dir`, under a path made of its key's
/// components (no key can write outside `dir`). Everything that would go
/// wrong on the local side (two keys for one path, an existing file) is
/// refused before anything is downloaded.
pub fn get(
    urls: &[String],
    dir: &Path,
    options: GetOptions,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    let plan = plan_downloads(urls, dir, options)?;
    for p in &plan {
        capture_store::create_dirs_under(dir, &p.to)?;
        let size = remote::runtime().block_on(p.store.size(&p.key))?;
        let bar = if std::io::stderr().is_terminal() {
            indicatif::ProgressBar::new(size)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(escaped(p.key.rsplit('/').next().unwrap_or_default()).into_owned());
        let download =
            remote::runtime().block_on(p.store.download(&p.key, &p.to, |n| bar.set_position(n)));
        bar.finish_and_clear();
        let download = download?;
        let unverified = unverified(&download);
        if let Some(why) = &unverified
            && !options.no_verify
        {
            // Dropped: the temporary file goes, nothing is kept.
            anyhow::bail!("{}: {why}: not kept (--no-verify keeps it)", p.url);
        }
        let bytes = download.bytes();
        download.keep(options.force)?;
        writeln!(
            out,
            "{} ({bytes} bytes, {})",
            escaped(p.to.as_os_str().as_bytes()),
            unverified.map_or_else(
                || "CRC32 checked".to_owned(),
                |why| format!("not verified: {why}")
            )
        )?;
    }
    Ok(())
}

/// Where each of `urls` goes under `dir`, refusing two keys for one path
/// (or one's path inside the other's), and paths that exist unless
/// `options.force`. The same object named twice is downloaded once.
fn plan_downloads(
    urls: &[String],
    dir: &Path,
    options: GetOptions,
) -> anyhow::Result<Vec<Planned>> {
    let mut plan: Vec<Planned> = Vec::new();
    for url in urls {
        let (store, key) = remote::open_object(url)?;
        if key.is_empty() {
            anyhow::bail!("{url}: names no capture (s3://BUCKET/KEY or file:///DIR/NAME)");
        }
        let url = store.location().url_of(&key);
        if plan.iter().any(|p| p.url == url) {
            continue;
        }
        let to = safe_local_path(dir, &key);
        if let Some(other) = plan.iter().find(|p| p.to == to) {
            anyhow::bail!(
                "{} and {url} would both be written to {}: get them into different directories",
                other.url,
                to.display()
            );
        }
        if let Some(other) = plan
            .iter()
            .find(|p| p.to.starts_with(&to) || to.starts_with(&p.to))
        {
            let outer = if to.starts_with(&other.to) {
                &other.to
            } else {
                &to
            };
            anyhow::bail!(
                "{} and {url}: one would be written at {} and the other inside it: get them into different directories",
                other.url,
                outer.display()
            );
        }
        match std::fs::symlink_metadata(&to) {
            Ok(found) if found.is_dir() => {
                anyhow::bail!(
                    "{}: a directory, where {url} would be written",
                    to.display()
                );
            }
            Ok(_) if !options.force => anyhow::bail!(
                "{}: exists, not overwritten with {url} (--force overwrites it)",
                to.display()
            ),
            _ => {}
        }
        plan.push(Planned {
            url,
            store,
            key,
            to,
        });
    }
    Ok(plan)
}

/// Why a download cannot be verified, if it cannot: the CRC32 the agent
/// stores with every capture is missing or unreadable, or the bytes are not
/// a capture.
fn unverified(download: &capture_store::Download) -> Option<String> {
    match download.crc() {
        CrcCheck::Matched => {}
        CrcCheck::Missing => {
            return Some("stored without a CRC32, the copy cannot be checked".into());
        }
        CrcCheck::Unreadable(value) => {
            return Some(format!(
                "its crc32 metadata {value:?} is not 8 hex digits, the copy cannot be checked"
            ));
        }
    }
    let error = inspect_cli::scan::check_capture(download.path()).err()?;
    // The cause, without the temporary file's name.
    let cause =
        std::error::Error::source(&error).map_or_else(|| error.to_string(), ToString::to_string);
    Some(format!("not a capture ({cause})"))
}
