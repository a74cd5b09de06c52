//! `regent ui`: the UI served over HTTP, read-only. Every data file is made
//! on request from the Git objects of `--rev` (resolved again each time, so
//! a new commit shows on reload). Loopback only unless `--bind` says
//! otherwise; only GET and HEAD; only the embedded assets and well-formed
//! data paths exist; every response carries a strict Content-Security-Policy.

use super::UiError;
use super::assets;
use super::data::{DataFile, Export, Lineage, script};
use crate::git::{GitError, Repo};
use crate::snapshot::Snapshot;
use http_body_util::Full;
use hyper::body::Bytes;
use std::cell::RefCell;
use std::io::Write;
use std::net::SocketAddr;
use std::rc::Rc;

/// No inline script or style, nothing from another origin, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A server that has bound its address; [`Server::serve`] answers until the process ends.
pub struct Server {
    listener: std::net::TcpListener,
    pub address: SocketAddr,
    state: State,
}

/// What answering needs: requests are answered one at a time on one thread
/// (a git2 repository is not shared between threads).
struct State {
    repo: Repo,
    rev: String,
    address: SocketAddr,
    /// The run -> versions index of the last commit served, made once per
    /// commit rather than once per run page.
    lineage: Option<(git2::Oid, Lineage)>,
}

impl Server {
    /// Binds `address` (the caller decides whether a non-loopback one is allowed).
    pub fn bind(repo: Repo, rev: String, address: SocketAddr) -> Result<Server, UiError> {
        let listen = |e: std::io::Error| UiError::Listen {
            address: address.to_string(),
            message: e.to_string(),
        };
        let listener = std::net::TcpListener::bind(address).map_err(listen)?;
        listener.set_nonblocking(true).map_err(listen)?;
        let address = listener.local_addr().map_err(listen)?;
        Ok(Server {
            listener,
            address,
            state: State {
                repo,
                rev,
                address,
                lineage: None,
            },
        })
    }

    /// The URL to open.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// Answers requests for ever: connections are served concurrently (a
    /// browser keeps several open), each request answered in turn.
    pub fn serve(self) -> Result<(), UiError> {
        let address = self.address;
        let failed = |e: std::io::Error| UiError::Listen {
            address: address.to_string(),
            message: e.to_string(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(failed)?;
        let state = Rc::new(RefCell::new(self.state));
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async move {
            let listener = tokio::net::TcpListener::from_std(self.listener).map_err(failed)?;
            loop {
                // A connection that fails to be accepted (out of descriptors,
                // reset) is its own problem; keep serving the others.
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = state.clone();
                tokio::task::spawn_local(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let response = state.borrow_mut().respond(&request);
                        async move { Ok::<_, std::convert::Infallible>(response) }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    // A reader that went away is no concern of ours.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        })
    }
}

impl State {
    fn respond<B>(&mut self, request: &hyper::Request<B>) -> hyper::Response<Full<Bytes>> {
        let host = request
            .headers()
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok());
        let answer = self.answer(request.method(), request.uri().path(), host);
        if answer.status >= 500 {
            let _ = writeln!(
                std::io::stderr(),
                "error: {} {}: {}",
                request.method(),
                request.uri().path(),
                answer.body_text()
            );
        }
        answer.into_response()
    }

    fn answer(&mut self, method: &hyper::Method, path: &str, host: Option<&str>) -> Answer {
        if method != hyper::Method::GET && method != hyper::Method::HEAD {
            return Answer::text(405, "only GET and HEAD: the UI is read-only\n");
        }
        // On loopback, a page of another site may still reach us through a
        // DNS name that resolves to 127.0.0.1 (DNS rebinding): it would name
        // its own host. Answer only requests for our own address.
        if self.address.ip().is_loopback() && !host.is_some_and(|h| self.is_own_host(h)) {
            return Answer::text(403, "forbidden: the Host header names another site\n");
        }
        let Some(path) = path.strip_prefix('/') else {
            return Answer::not_found();
        };
        if let Some(asset) = assets::find(path) {
            return Answer {
                status: 200,
                content_type: asset.content_type,
                body: asset.bytes.to_vec(),
            };
        }
        match DataFile::parse(path) {
            Some(file) => match self.data(&file) {
                Ok(Some(text)) => Answer {
                    status: 200,
                    content_type: assets::DATA_TYPE,
                    body: text.into_bytes(),
                },
                Ok(None) => Answer::not_found(),
                Err(e) => Answer::text(500, &format!("{e}\n")),
            },
            None => Answer::not_found(),
        }
    }

    fn is_own_host(&self, host: &str) -> bool {
        let port = self.address.port();
        [
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
            self.address.to_string(),
        ]
        .iter()
        .any(|own| own.eq_ignore_ascii_case(host))
    }

    /// One data file, from the commit `--rev` names now.
    fn data(&mut self, file: &DataFile) -> Result<Option<String>, UiError> {
        let snapshot = Snapshot::at_rev(&self.repo, &self.rev)?;
        let commit = snapshot.commit.ok_or_else(|| GitError::BadRevision {
            rev: self.rev.clone(),
            message: "no commit".into(),
        })?;
        let export = Export {
            repo: &self.repo,
            snapshot: &snapshot,
            rev: self.rev.clone(),
        };
        if matches!(file, DataFile::Run { .. })
            && self.lineage.as_ref().is_none_or(|(c, _)| *c != commit)
        {
            self.lineage = Some((commit, export.lineage()?));
        }
        let lineage = self.lineage.as_ref().map(|(_, l)| l);
        Ok(export
            .data(file, lineage)?
            .map(|value| script(&file.key(), &value)))
    }
}

struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Answer {
    fn text(status: u16, text: &str) -> Answer {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: text.as_bytes().to_vec(),
        }
    }

    fn not_found() -> Answer {
        Answer::text(404, "not found\n")
    }

    fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).trim().to_owned()
    }

    fn into_response(self) -> hyper::Response<Full<Bytes>> {
        let mut response = hyper::Response::builder()
            .status(self.status)
            .header("Content-Type", self.content_type)
            .header("Content-Security-Policy", CSP)
            .header("X-Content-Type-Options", "nosniff")
            .header("Referrer-Policy", "no-referrer")
            .header("X-Frame-Options", "DENY")
            // Data changes with each commit: never answer a reload from a cache.
            .header("Cache-Control", "no-store");
        if self.status == 405 {
            response = response.header("Allow", "GET, HEAD");
        }
        // Every part is a constant or a status this module chose: it builds.
        response
            .body(Full::new(Bytes::from(self.body)))
            .unwrap_or_default()
    }
}
