//! `syscap-s3-test-server ROOT [PORT]`: serves the S3 API over plain files
//! under ROOT (s3s-fs, which checks request signatures) on 127.0.0.1, with
//! the access key and secret of `SYSCAP_TEST_S3_KEY` and
//! `SYSCAP_TEST_S3_SECRET` (default `syscap`/`syscap-secret`). Prints
//! `listening on http://127.0.0.1:PORT` once ready. Tests start it, stop it
//! and start it again on the same port and files to play an outage. It
//! answers for server-side encryption as S3 does (see [`sse`]), and
//! encodes listed keys when asked as S3 does (see [`listing`]).

mod listing;
mod sse;

use std::process::ExitCode;

use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("syscap-s3-test-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn run() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let root = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: ROOT [PORT]"))?;
    let port: u16 = args.next().map_or(Ok(0), |p| p.parse())?;
    std::fs::create_dir_all(&root)?;
    let key = std::env::var("SYSCAP_TEST_S3_KEY").unwrap_or_else(|_| "syscap".into());
    let secret = std::env::var("SYSCAP_TEST_S3_SECRET").unwrap_or_else(|_| "syscap-secret".into());
    let fs = s3s_fs::FileSystem::new(&root).map_err(|e| anyhow::anyhow!("{root}: {e:?}"))?;
    let mut builder = S3ServiceBuilder::new(sse::WithSse::new(fs));
    builder.set_auth(SimpleAuth::from_single(key, secret));
    let service = builder.build();
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let http = Builder::new(TokioExecutor::new());
    loop {
        let (socket, _) = listener.accept().await?;
        let service = service.clone();
        // The whole body is read before s3s answers. s3s refuses a bad
        // signature from the headers alone, and then the connection closes
        // while the client is still sending. The client sees "broken pipe"
        // instead of the server's `SignatureDoesNotMatch`, depending on how
        // far its upload got.
        let read_first = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let service = service.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = body
                    .collect()
                    .await
                    .map_err(|e| s3s::HttpError::new(Box::new(e)))?
                    .to_bytes();
                service
                    .call(hyper::Request::from_parts(parts, s3s::Body::from(body)))
                    .await
            }
        });
        let conn = http
            .serve_connection(TokioIo::new(socket), read_first)
            .into_owned();
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}
