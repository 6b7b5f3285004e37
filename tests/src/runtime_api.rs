//! A local Lambda Runtime API (the interface `lambda_runtime` polls), so tests drive the real
//! function binaries with real event JSON: `GET /2018-06-01/runtime/invocation/next`,
//! `POST …/invocation/{id}/response`, `POST …/invocation/{id}/error`, `POST …/runtime/init/error`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function's response body.
    Response(serde_json::Value),
    /// The function reported an error.
    Error(serde_json::Value),
}

#[derive(Default)]
struct State {
    pending: VecDeque<(String, String)>,
    done: HashMap<String, Outcome>,
    first_poll: Option<Instant>,
    init_error: Option<String>,
}

/// The emulator; listens on 127.0.0.1 until dropped.
pub struct RuntimeApi {
    /// `127.0.0.1:<port>`, for `AWS_LAMBDA_RUNTIME_API`.
    pub addr: String,
    state: Arc<(Mutex<State>, Condvar)>,
    server: Arc<tiny_http::Server>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn lock(s: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

impl RuntimeApi {
    /// Starts the emulator on a free port.
    pub fn start() -> RuntimeApi {
        let server = Arc::new(
            tiny_http::Server::http("127.0.0.1:0").unwrap_or_else(|e| panic!("runtime api: {e}")),
        );
        let addr = server
            .server_addr()
            .to_ip()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let (srv, st) = (server.clone(), state.clone());
        std::thread::spawn(move || {
            for req in srv.incoming_requests() {
                let st = st.clone();
                // `next` blocks until an event is queued: one thread per request.
                std::thread::spawn(move || serve(req, &st));
            }
        });
        RuntimeApi {
            addr,
            state,
            server,
        }
    }

    /// Queues an event; returns its request id.
    pub fn invoke(&self, event: &serde_json::Value) -> String {
        let (m, cv) = &*self.state;
        let mut s = lock(m);
        let id = format!("req-{}", s.pending.len() + s.done.len() + 1);
        s.pending.push_back((id.clone(), event.to_string()));
        cv.notify_all();
        id
    }

    /// Waits for an invocation's outcome.
    pub fn wait(&self, id: &str, timeout: Duration) -> Option<Outcome> {
        let (m, cv) = &*self.state;
        let deadline = Instant::now() + timeout;
        let mut s = lock(m);
        loop {
            if let Some(o) = s.done.get(id) {
                return Some(o.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            s = cv
                .wait_timeout(s, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Invokes and waits (30 s).
    pub fn call(&self, event: &serde_json::Value) -> Outcome {
        let id = self.invoke(event);
        self.wait(&id, Duration::from_secs(30))
            .unwrap_or_else(|| panic!("no answer to {id} within 30 s"))
    }

    /// When the function first asked for work (it is ready: the end of its cold start).
    pub fn first_poll(&self) -> Option<Instant> {
        lock(&self.state.0).first_poll
    }

    /// Waits until the function first polls.
    pub fn wait_ready(&self, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(t) = self.first_poll() {
                return Some(t);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        None
    }

    /// The init error the function reported, if any.
    pub fn init_error(&self) -> Option<String> {
        lock(&self.state.0).init_error.clone()
    }
}

fn serve(mut req: tiny_http::Request, st: &(Mutex<State>, Condvar)) {
    let (m, cv) = st;
    let url = req.url().to_string();
    let mut body = String::new();
    let _ = req.as_reader().read_to_string(&mut body);
    let header = |k: &str, v: &str| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).ok();
    if url.ends_with("/invocation/next") {
        let mut s = lock(m);
        s.first_poll.get_or_insert_with(Instant::now);
        let (id, event) = loop {
            if let Some(next) = s.pending.pop_front() {
                break next;
            }
            s = cv.wait(s).unwrap_or_else(|p| p.into_inner());
        };
        drop(s);
        let deadline = (std::time::SystemTime::now() + Duration::from_secs(300))
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let mut resp = tiny_http::Response::from_string(event);
        for h in [
            header("Lambda-Runtime-Aws-Request-Id", &id),
            header("Lambda-Runtime-Deadline-Ms", &deadline.to_string()),
            header(
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:test",
            ),
            header(
                "Lambda-Runtime-Trace-Id",
                "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
            ),
            header("Content-Type", "application/json"),
        ]
        .into_iter()
        .flatten()
        {
            resp.add_header(h);
        }
        let _ = req.respond(resp);
        return;
    }
    let parsed = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body.clone()));
    let parts: Vec<&str> = url.trim_start_matches('/').split('/').collect();
    {
        let mut s = lock(m);
        match parts.as_slice() {
            [_, "runtime", "invocation", id, "response"] => {
                s.done.insert(id.to_string(), Outcome::Response(parsed));
            }
            [_, "runtime", "invocation", id, "error"] => {
                s.done.insert(id.to_string(), Outcome::Error(parsed));
            }
            [_, "runtime", "init", "error"] => s.init_error = Some(body),
            _ => {}
        }
        cv.notify_all();
    }
    let _ =
        req.respond(tiny_http::Response::from_string("{\"status\":\"OK\"}").with_status_code(202));
}
