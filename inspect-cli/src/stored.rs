//! `syscap ls` and `syscap get`: the captures an agent stored, and copies of
//! them here.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use capture_store::{StoredObject, parse_key_name, safe_local_path};
use inspect_cli::remote;
use inspect_cli::window::parse_time;
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
    let since = since
        .map(|t| parse_time(t, 0).context("--since"))
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
        "TIME", "HOST", "RULE", "DURATION", "EVENTS", "BYTES"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:<31} {:<16} {:<24} {:>8.1}s {:>10} {:>10}  {}",
            r.time, r.host, r.rule, r.duration_s, r.events, r.bytes, r.key
        )?;
    }
    Ok(())
}

/// Downloads each of `urls` into `dir`, under a path made of its key's
/// components (no key can write outside `dir`).
pub fn get(urls: &[String], dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    for url in urls {
        let (store, key) = remote::open(url)?;
        if key.is_empty() {
            anyhow::bail!("{url}: names no capture (s3://BUCKET/KEY)");
        }
        let to = safe_local_path(dir, &key);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let size = remote::runtime().block_on(store.size(&key))?;
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
        bar.set_message(key.rsplit('/').next().unwrap_or_default().to_owned());
        let got = remote::runtime().block_on(store.download(&key, &to, |n| bar.set_position(n)))?;
        bar.finish_and_clear();
        writeln!(
            out,
            "{} ({} bytes, {})",
            to.display(),
            got.bytes,
            if got.checked {
                "CRC32 checked"
            } else {
                "stored without a CRC32: not checked"
            }
        )?;
    }
    Ok(())
}
