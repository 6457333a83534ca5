//! `studyflow serve`: the local root's catalog and reports over HTTP on 127.0.0.1, read-only.
//! A deliberately small HTTP/1.1 server (GET and HEAD, one thread per connection): it serves a
//! handful of people looking at results, not the internet.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use studyflow::model::FileItem;
use studyflow::ports::{Catalog, FileFilter, ObjectStore};
use studyflow::report;

/// `serve` arguments.
#[derive(Args)]
pub struct ServeArgs {
    /// Local root folder.
    #[arg(long, default_value = ".studyflow")]
    root: PathBuf,
    /// Port on 127.0.0.1 (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8080)]
    port: u16,
}

pub fn serve(a: ServeArgs) -> Result<ExitCode> {
    if !studyflow::local::catalog_path(&a.root).is_file() {
        anyhow::bail!(
            "{} has no catalog (run `studyflow demo` first)",
            a.root.display()
        );
    }
    let listener = TcpListener::bind(("127.0.0.1", a.port))
        .with_context(|| format!("binding 127.0.0.1:{}", a.port))?;
    let addr = listener.local_addr()?;
    println!("serving {} on http://{addr}/", a.root.display());
    std::io::stdout().flush()?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let root = a.root.clone();
        std::thread::spawn(move || {
            if let Err(e) = handle(&root, stream) {
                tracing::warn!(error = %e, "request failed");
            }
        });
    }
    Ok(ExitCode::SUCCESS)
}

struct Response {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Response {
    fn html(body: String) -> Response {
        Response {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: body.into_bytes(),
        }
    }
    fn error(status: u16, message: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{status} {message}\n").into_bytes(),
        }
    }
}

fn handle(root: &Path, stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.by_ref().take(8192).read_line(&mut request_line)?;
    // Headers are read and ignored (up to a bound): nothing here depends on them.
    let mut header = String::new();
    for _ in 0..100 {
        header.clear();
        if reader.by_ref().take(8192).read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let resp = match method {
        "GET" | "HEAD" => route(root, target.split('?').next().unwrap_or("/")),
        _ => Response::error(405, "only GET and HEAD"),
    };
    let reason = match resp.status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        resp.status,
        resp.content_type,
        resp.body.len()
    )?;
    if method != "HEAD" {
        out.write_all(&resp.body)?;
    }
    out.flush()
}

/// The link of a file's report on this server, when the report exists.
fn report_href(store: &dyn ObjectStore, f: &FileItem) -> Option<String> {
    let (bucket, prefix) = studyflow::transfer::split_s3_uri(f.result_prefix.as_deref()?)?;
    let key = format!("{}/report.html", prefix.trim_end_matches('/'));
    store.head(&bucket, &key).ok()??;
    Some(format!(
        "/objects/{bucket}/{}",
        studyflow::events::url_encode_key(&key)
    ))
}

fn route(root: &Path, path: &str) -> Response {
    let catalog = match studyflow::local::open_catalog(root) {
        Ok(c) => c,
        Err(e) => return Response::error(500, &e.to_string()),
    };
    let store = studyflow::local::plain_store(root);
    let result = (|| -> Result<Response> {
        if path == "/" {
            let mut studies = Vec::new();
            for s in catalog.list_studies()? {
                let n = catalog.list_files(&s.study, &FileFilter::default())?.len();
                studies.push((s, n));
            }
            return Ok(Response::html(report::index_page(&studies)));
        }
        if let Some(id) = path.strip_prefix("/studies/") {
            let Some(study) = catalog.get_study(id)? else {
                return Ok(Response::error(404, "no such study"));
            };
            let files = catalog.list_files(id, &FileFilter::default())?;
            let href = |f: &FileItem| report_href(&store, f);
            return Ok(Response::html(report::study_page(&study, &files, &href)));
        }
        if let Some(rest) = path.strip_prefix("/objects/") {
            let Some((bucket, key)) = rest.split_once('/') else {
                return Ok(Response::error(404, "no such object"));
            };
            let Ok(key) = studyflow::events::url_decode_key(key) else {
                return Ok(Response::error(404, "bad key"));
            };
            // The store refuses `..`, absolute and NUL keys: nothing outside the root is served.
            return Ok(match store.get(bucket, &key) {
                Ok(body) => Response {
                    status: 200,
                    content_type: content_type(&key),
                    body,
                },
                Err(_) => Response::error(404, "no such object"),
            });
        }
        Ok(Response::error(404, "not found"))
    })();
    result.unwrap_or_else(|e| Response::error(500, &e.to_string()))
}

fn content_type(key: &str) -> &'static str {
    match key.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "csv" => "text/csv; charset=utf-8",
        _ => "application/octet-stream",
    }
}
