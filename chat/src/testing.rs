//! A recording HTTP server on 127.0.0.1 for delivery tests (feature `test-support`).
//!
//! It records every request and answers from a script: queued replies in order, then a default.
//! [`Reply::Hang`] never answers (until the server is dropped), to exercise client timeouts.

#![allow(clippy::expect_used)] // test support: a broken test server should fail the test loudly

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::Value;

/// How the server answers one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// This status, body and content type.
    Status(u16, String, &'static str),
    /// 429 with `Retry-After: <seconds>`.
    RetryAfter(u64),
    /// No answer at all until the server stops.
    Hang,
}

impl Reply {
    /// 200 with a plain-text body.
    pub fn ok(body: &str) -> Reply {
        Reply::Status(200, body.into(), "text/plain")
    }

    /// A status with an empty body.
    pub fn status(code: u16) -> Reply {
        Reply::Status(code, String::new(), "text/plain")
    }

    /// 200 with a JSON body.
    pub fn json(v: &Value) -> Reply {
        Reply::Status(200, v.to_string(), "application/json")
    }

    /// Slack's 200 `{"ok":false,"error":code}`.
    pub fn slack_error(code: &str) -> Reply {
        Reply::json(&serde_json::json!({"ok": false, "error": code}))
    }

    /// Slack's successful `chat.postMessage` answer.
    pub fn slack_posted(channel: &str, ts: &str) -> Reply {
        Reply::json(&serde_json::json!({"ok": true, "channel": channel, "ts": ts}))
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `POST`, …
    pub method: String,
    /// Path and query.
    pub url: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

struct Shared {
    requests: Vec<Recorded>,
    script: VecDeque<Reply>,
    default: Reply,
    hung: Vec<tiny_http::Request>,
}

/// The server; stops when dropped.
pub struct RecordingServer {
    server: Arc<tiny_http::Server>,
    port: u16,
    shared: Arc<Mutex<Shared>>,
    thread: Option<JoinHandle<()>>,
}

impl RecordingServer {
    /// Starts on a free port of 127.0.0.1, answering 200 `ok` by default.
    pub fn start() -> RecordingServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let shared = Arc::new(Mutex::new(Shared {
            requests: Vec::new(),
            script: VecDeque::new(),
            default: Reply::ok("ok"),
            hung: Vec::new(),
        }));
        let (srv, sh) = (Arc::clone(&server), Arc::clone(&shared));
        let thread = std::thread::spawn(move || {
            for mut req in srv.incoming_requests() {
                let mut body = Vec::new();
                let _ = req.as_reader().read_to_end(&mut body);
                let mut s = sh.lock().expect("server state");
                s.requests.push(Recorded {
                    method: req.method().to_string(),
                    url: req.url().to_string(),
                    headers: req
                        .headers()
                        .iter()
                        .map(|h| {
                            (
                                h.field.as_str().as_str().to_ascii_lowercase(),
                                h.value.as_str().to_string(),
                            )
                        })
                        .collect(),
                    body,
                });
                let reply = s.script.pop_front().unwrap_or_else(|| s.default.clone());
                match reply {
                    Reply::Hang => s.hung.push(req),
                    Reply::RetryAfter(secs) => {
                        drop(s);
                        let r = tiny_http::Response::from_string("rate limited")
                            .with_status_code(429)
                            .with_header(header("Retry-After", &secs.to_string()));
                        let _ = req.respond(r);
                    }
                    Reply::Status(code, body, ctype) => {
                        drop(s);
                        let r = tiny_http::Response::from_string(body)
                            .with_status_code(code)
                            .with_header(header("Content-Type", ctype));
                        let _ = req.respond(r);
                    }
                }
            }
        });
        RecordingServer {
            server,
            port,
            shared,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Queues replies, answered in order before the default.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared
            .lock()
            .expect("server state")
            .script
            .extend(replies);
    }

    /// The reply once the script is used up.
    pub fn set_default(&self, reply: Reply) {
        self.shared.lock().expect("server state").default = reply;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().expect("server state").requests.clone()
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

impl Drop for RecordingServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Ok(mut s) = self.shared.lock() {
            s.hung.clear();
        }
    }
}
