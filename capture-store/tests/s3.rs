//! The S3 store against real S3-compatible servers started on 127.0.0.1,
//! each test on s3s-fs and on moto (two implementations, so the store does
//! not lean on one's quirks) unless it needs what only s3s-fs does: whole
//! and multipart uploads with metadata, listing, ranged reads, checked
//! downloads, encryption confirmed, and the errors of a corrupt copy, a
//! wrong secret and a server that is gone.

use std::path::{Path, PathBuf};

use capture_store::{
    CRC_METADATA, CrcCheck, Encryption, Location, MULTIPART_THRESHOLD, RemoteSource, S3Options,
    Store,
};
use s3_test_server::{Backend, KEY, S3TestServer, SECRET};

/// `on_each_backend![f, g]`: tests `s3s_fs::f`, `moto::f`, ... each running
/// `async fn f(Backend)` against its server, named in failure messages by
/// the test's name.
macro_rules! on_each_backend {
    ($($test:ident),* $(,)?) => {
        mod s3s_fs {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Backend::S3sFs).await;
                }
            )*
        }
        mod moto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Backend::Moto).await;
                }
            )*
        }
    };
}

on_each_backend![
    uploads_lists_reads_and_fails_when_gone,
    encrypted_uploads_are_confirmed,
    a_stored_capture_is_read_by_ranges,
    keys_xml_cannot_carry_are_listed,
];

/// An empty directory of this test run.
fn scratch(name: &str, backend: Backend) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "syscap-store-{name}-{backend}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The temporary files of downloads left in `dir`.
fn temporary_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "part"))
        .map(|path| path.display().to_string())
        .collect()
}

fn options(endpoint: &str, secret: &str) -> S3Options {
    S3Options {
        region: Some("us-east-1".into()),
        endpoint: Some(endpoint.to_owned()),
        path_style: true,
        encryption: None,
        static_credentials: Some((KEY.into(), secret.into())),
    }
}

/// A small capture file (one PUT) and a big one (above the multipart
/// threshold) in `dir`, stored as `prod/h1/a.syscap` and `b.syscap`, with
/// the metadata they were given; (small file, big file's bytes, metadata).
async fn store_two(store: &Store, dir: &Path) -> (PathBuf, Vec<u8>, Vec<(String, String)>) {
    let small = dir.join("small.syscap");
    std::fs::write(&small, b"small capture").unwrap();
    let big = dir.join("big.syscap");
    let big_bytes: Vec<u8> = (0..MULTIPART_THRESHOLD + 3_000_000)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    std::fs::write(&big, &big_bytes).unwrap();
    let meta = vec![
        ("rule".to_owned(), "r1".to_owned()),
        ("host".to_owned(), "h1".to_owned()),
    ];
    store
        .put_file(&small, "prod/h1/a.syscap", &meta)
        .await
        .unwrap();
    store
        .put_file(&big, "prod/h1/b.syscap", &meta)
        .await
        .unwrap();
    (small, big_bytes, meta)
}

/// Whole and multipart uploads with metadata, listed, read by ranges and
/// downloaded checked; then the server gone, a transient error.
async fn uploads_lists_reads_and_fails_when_gone(backend: Backend) {
    let dir = scratch("s3", backend);
    let server = S3TestServer::start_with(backend, &dir.join("s3")).unwrap();
    let location = Location::parse("s3://caps/prod").unwrap();
    let store = Store::open(location.clone(), &options(&server.endpoint(), SECRET))
        .await
        .unwrap();
    let (small, big_bytes, meta) = store_two(&store, &dir).await;

    let listed = store.list("prod/").await.unwrap();
    let keys: Vec<(&str, u64)> = listed.iter().map(|o| (o.key.as_str(), o.size)).collect();
    assert_eq!(
        keys,
        [
            ("prod/h1/a.syscap", 13),
            ("prod/h1/b.syscap", big_bytes.len() as u64)
        ]
    );
    assert!(
        listed[0].metadata.contains(&("rule".into(), "r1".into())),
        "{:?}",
        listed[0].metadata
    );
    assert_eq!(
        server.objects(),
        ["prod/h1/a.syscap", "prod/h1/b.syscap"],
        "what the server itself holds"
    );

    // Ranged reads, from the middle of the multipart object.
    let range = store
        .get_range("prod/h1/b.syscap", 9_000_001, 100)
        .await
        .unwrap();
    assert_eq!(range[..], big_bytes[9_000_001..9_000_101]);
    assert_eq!(
        store.size("prod/h1/b.syscap").await.unwrap(),
        big_bytes.len() as u64
    );

    // A checked download, private, in place once kept.
    let to = dir.join("copy.syscap");
    let mut seen = 0;
    let got = store
        .download("prod/h1/b.syscap", &to, |n| seen = n)
        .await
        .unwrap();
    assert_eq!(
        (got.bytes(), got.crc(), seen),
        (
            big_bytes.len() as u64,
            &CrcCheck::Matched,
            big_bytes.len() as u64
        )
    );
    assert!(!to.exists(), "not in place before it is kept");
    got.keep(false).unwrap();
    assert!(std::fs::read(&to).unwrap() == big_bytes);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&to).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "a capture is a secret");
    assert_eq!(temporary_files(&dir), Vec::<String>::new());
    let crc = format!("{:08x}", crc32fast::hash(&big_bytes));
    assert!(
        listed[1].metadata.contains(&(CRC_METADATA.into(), crc)),
        "the whole file's CRC32 is stored with it: {:?}",
        listed[1].metadata
    );

    // The server gone: the transport's reason.
    let endpoint = server.endpoint();
    drop(server);
    let gone = Store::open(location, &options(&endpoint, SECRET))
        .await
        .unwrap();
    let e = gone
        .put_file(&small, "prod/h1/d.syscap", &meta)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Connection refused"), "{e}");
    assert!(e.is_transient());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Server-side encryption is asked for in the headers S3 acts on, and the
/// upload succeeds only when the server says it applied it (both servers
/// answer with the encryption asked for, as S3 does), for a single PUT and
/// a multipart upload.
async fn encrypted_uploads_are_confirmed(backend: Backend) {
    let dir = scratch("sse", backend);
    let server = S3TestServer::start_with(backend, &dir.join("s3")).unwrap();
    let small = dir.join("small.syscap");
    std::fs::write(&small, b"small capture").unwrap();
    let big = dir.join("big.syscap");
    std::fs::write(
        &big,
        vec![7u8; usize::try_from(MULTIPART_THRESHOLD).unwrap() + 1],
    )
    .unwrap();
    for encryption in [Encryption::S3, Encryption::Kms(Some("syscap-key".into()))] {
        let store = Store::open(
            Location::parse("s3://caps/sse").unwrap(),
            &S3Options {
                encryption: Some(encryption.clone()),
                ..options(&server.endpoint(), SECRET)
            },
        )
        .await
        .unwrap();
        for file in [&small, &big] {
            let key = format!(
                "sse/{}/{}",
                encryption.name(),
                file.file_name().unwrap().display()
            );
            store
                .put_file(file, &key, &[])
                .await
                .unwrap_or_else(|e| panic!("{key}: {e}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A copy corrupted in the server's files is caught end to end (the parts
/// of a multipart object are checked only part by part by S3). s3s-fs
/// only: moto keeps its objects in memory, out of a test's reach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_copy_is_caught() {
    let dir = scratch("corrupt", Backend::S3sFs);
    let server = S3TestServer::start(&dir.join("s3")).unwrap();
    let store = Store::open(
        Location::parse("s3://caps/prod").unwrap(),
        &options(&server.endpoint(), SECRET),
    )
    .await
    .unwrap();
    store_two(&store, &dir).await;
    let stored = dir.join("s3/caps/prod/h1/b.syscap");
    let mut bytes = std::fs::read(&stored).unwrap();
    bytes[12_345_678] ^= 1;
    std::fs::write(&stored, &bytes).unwrap();
    let e = store
        .download("prod/h1/b.syscap", &dir.join("bad.syscap"), |_| {})
        .await
        .unwrap_err();
    assert!(e.to_string().contains("the copy is corrupt"), "{e}");
    assert!(!dir.join("bad.syscap").exists(), "no corrupt file left");
    assert_eq!(temporary_files(&dir), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A wrong secret: the service's code in one line. s3s-fs only: moto
/// checks no signatures, any secret passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused() {
    let dir = scratch("secret", Backend::S3sFs);
    let server = S3TestServer::start(&dir.join("s3")).unwrap();
    let small = dir.join("small.syscap");
    std::fs::write(&small, b"small capture").unwrap();
    let wrong = Store::open(
        Location::parse("s3://caps/prod").unwrap(),
        &options(&server.endpoint(), "nope"),
    )
    .await
    .unwrap();
    let e = wrong
        .put_file(&small, "prod/h1/c.syscap", &[])
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("s3://caps/prod/h1/c.syscap: PutObject failed: SignatureDoesNotMatch"),
        "{e}"
    );
    assert!(server.objects().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A stored capture is read in place: the footer, then only the chunk
/// asked for, in a few ranged GETs and a small part of the object.
async fn a_stored_capture_is_read_by_ranges(backend: Backend) {
    use capture_format::file::{CaptureHeader, CaptureReader, Projection, Writer, WriterOptions};
    use capture_format::state::Tracker;
    use capture_format::synth::{SynthOptions, generate};

    let dir = scratch("ranges", backend);
    let server = S3TestServer::start_with(backend, &dir.join("s3")).unwrap();
    let workload = generate(&SynthOptions {
        events: 200_000,
        processes: 50,
        ..SynthOptions::default()
    });
    let mut bytes = Vec::new();
    let writer_options = WriterOptions {
        chunk_events: 4096,
        ..WriterOptions::default()
    };
    let mut w = Writer::new(&mut bytes, &CaptureHeader::default(), writer_options).unwrap();
    let mut tracker = Tracker::from_snapshot(&workload.snapshot);
    w.write_snapshot(&workload.snapshot).unwrap();
    for r in &workload.records {
        r.with_record(|rec| {
            let ctx = tracker.apply(rec);
            w.write(rec, &ctx).unwrap();
        });
    }
    w.finish().unwrap();
    let file = dir.join("big.syscap");
    std::fs::write(&file, &bytes).unwrap();
    let store = std::sync::Arc::new(
        Store::open(
            Location::parse("s3://caps/prod").unwrap(),
            &options(&server.endpoint(), SECRET),
        )
        .await
        .unwrap(),
    );
    store
        .put_file(&file, "prod/h/big.syscap", &[])
        .await
        .unwrap();

    let handle = tokio::runtime::Handle::current();
    let (chunks, events, requests, fetched) = tokio::task::spawn_blocking(move || {
        let source =
            std::sync::Arc::new(RemoteSource::open(store, "prod/h/big.syscap", handle).unwrap());
        let reader = CaptureReader::open(source.clone()).unwrap();
        let chunk = reader.read_chunk(20, Projection::ALL).unwrap();
        let (requests, fetched) = source.fetched();
        (
            reader.index().chunks.len(),
            chunk.events().len(),
            requests,
            fetched,
        )
    })
    .await
    .unwrap();
    assert!(chunks > 40, "{chunks} chunks");
    assert_eq!(events, 4096);
    let size = bytes.len() as u64;
    assert!(
        fetched < size / 10 && requests <= 8,
        "{requests} requests fetched {fetched} of {size} bytes"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Keys with characters XML 1.0 cannot carry (ESC, CR, newline, other
/// control characters) and with the characters URL encoding itself uses
/// (`%`, `+`, space) are listed exactly, beside plain ones: one such key
/// once failed the listing of its whole prefix.
async fn keys_xml_cannot_carry_are_listed(backend: Backend) {
    let dir = scratch("odd-keys", backend);
    let server = S3TestServer::start_with(backend, &dir.join("s3")).unwrap();
    let store = Store::open(
        Location::parse("s3://caps/prod").unwrap(),
        &options(&server.endpoint(), SECRET),
    )
    .await
    .unwrap();
    let file = dir.join("c.syscap");
    std::fs::write(&file, b"a capture").unwrap();
    let mut keys = vec![
        "prod/h1/plain.syscap",
        "prod/h1/\x1b[2J\x1b]0;owned\x07.syscap",
        "prod/h1/cr\rFAKE\x01\x7f.syscap",
        "prod/h1/a b+c%20d%.syscap",
        "prod/h1/règle 東京.syscap",
    ];
    // moto's router answers 404 to a key with a newline; S3 takes it.
    if backend != Backend::Moto {
        keys.push("prod/h1/new\nline.syscap");
    }
    for key in &keys {
        store
            .put_file(&file, key, &[("rule".into(), "r".into())])
            .await
            .unwrap_or_else(|e| panic!("{key:?}: {e}"));
    }
    let listed = store
        .list("prod/")
        .await
        .unwrap_or_else(|e| panic!("{backend}: {e}"));
    let mut got: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
    got.sort_unstable();
    keys.sort_unstable();
    assert_eq!(got, keys, "{backend}");
    assert!(
        listed
            .iter()
            .all(|o| o.size == 9 && o.metadata.contains(&("rule".into(), "r".into()))),
        "each listed key names its object: {listed:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
