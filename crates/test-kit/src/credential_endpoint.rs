//! What the credential stand-ins (ECS, STS, IMDSv2) share: a real HTTP server on a
//! loopback port that counts the requests it receives, issues temporary credentials
//! registered with dev-s3 (which then checks their session token and expiry on every
//! request), and can be switched at run time to hang or to fail, and back.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use dev_s3::TemporaryCredentials;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// How a credentials stand-in answers; switch with `set_behaviour`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers every request, issuing new credentials where asked for them.
    Answer,
    /// Accepts every connection and request and never answers.
    Hang,
    /// Answers until it has issued one more set of credentials, then hangs.
    AnswerOnceThenHang,
    /// Answers every request with a server error (500).
    Fail,
}

/// A set of temporary credentials as issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_key: String,
    pub secret_key: String,
    pub token: String,
    pub issued_at: SystemTime,
    pub expires: SystemTime,
}

impl Issued {
    /// The expiry as the services write it (RFC 3339, UTC).
    pub fn expiration(&self) -> String {
        time::OffsetDateTime::from(self.expires)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }
}

/// Issues credentials and switches behaviour: what a stand-in's answers may use.
pub(crate) struct Issuer {
    s3: TemporaryCredentials,
    /// Distinguishes the access keys of different stand-ins on one dev-s3.
    tag: &'static str,
    life: Duration,
    behaviour: Mutex<Behaviour>,
    issued: Mutex<Vec<Issued>>,
    calls: AtomicUsize,
}

/// A poisoned lock still holds usable data: a stand-in keeps answering.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Issuer {
    /// A new set of credentials living the configured life, registered with dev-s3.
    /// Under [`Behaviour::AnswerOnceThenHang`] this is the last answer.
    pub(crate) fn issue(&self) -> Issued {
        let life = self.life;
        let mut issued = lock(&self.issued);
        let n = issued.len() + 1;
        let issued_at = SystemTime::now();
        let set = Issued {
            access_key: access_key(self.tag, n),
            secret_key: format!("{}-temporary-secret-{n}", self.tag.to_lowercase()),
            token: format!("{}-session-token-{n}", self.tag.to_lowercase()),
            issued_at,
            expires: issued_at + life,
        };
        self.s3
            .add(&set.access_key, &set.secret_key, &set.token, set.expires);
        issued.push(set.clone());
        let mut behaviour = lock(&self.behaviour);
        if *behaviour == Behaviour::AnswerOnceThenHang {
            *behaviour = Behaviour::Hang;
        }
        set
    }
}

/// The access key of the `n`th set (from 1) issued by the stand-in tagged `tag`.
pub(crate) fn access_key(tag: &str, n: usize) -> String {
    format!("ASIA{tag}{n:08}")
}

/// What a stand-in answers.
pub(crate) trait Answers: Send + Sync + 'static {
    /// The answer to `request` while answering.
    fn answer(&self, request: &Request<Bytes>, issuer: &Issuer) -> Response<Full<Bytes>>;
    /// The answer while failing.
    fn failure(&self) -> Response<Full<Bytes>>;
}

/// A running stand-in, what the ECS, STS and IMDS stand-ins have in common (they
/// dereference to it); stopped, hung requests included, when dropped.
pub struct CredentialEndpoint {
    addr: SocketAddr,
    issuer: Arc<Issuer>,
    task: JoinHandle<()>,
}

/// Request bodies larger than this are refused (the SDK's are a few hundred bytes).
const BODY_LIMIT: usize = 64 * 1024;

impl CredentialEndpoint {
    pub(crate) async fn start(
        s3: TemporaryCredentials,
        life: Duration,
        tag: &'static str,
        answers: impl Answers,
    ) -> CredentialEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
        let addr = listener.local_addr().expect("its address");
        let issuer = Arc::new(Issuer {
            s3,
            tag,
            life,
            behaviour: Mutex::new(Behaviour::Answer),
            issued: Mutex::new(Vec::new()),
            calls: AtomicUsize::new(0),
        });
        let task = tokio::spawn(accept(listener, issuer.clone(), Arc::new(answers)));
        CredentialEndpoint { addr, issuer, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers from now on this way (a hung request stays hung).
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *lock(&self.issuer.behaviour) = behaviour;
    }

    /// Requests received so far, answered or not.
    pub fn calls(&self) -> usize {
        self.issuer.calls.load(Ordering::SeqCst)
    }

    /// How many sets of credentials were issued so far.
    pub fn issued(&self) -> usize {
        lock(&self.issuer.issued).len()
    }

    /// Every set issued so far, in order.
    pub fn issued_sets(&self) -> Vec<Issued> {
        lock(&self.issuer.issued).clone()
    }
}

impl Drop for CredentialEndpoint {
    fn drop(&mut self) {
        // The accept task owns the connection tasks (a JoinSet): aborting it ends them.
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, issuer: Arc<Issuer>, answers: Arc<dyn Answers>) {
    let mut connections = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        while connections.try_join_next().is_some() {}
        let (issuer, answers) = (issuer.clone(), answers.clone());
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let (issuer, answers) = (issuer.clone(), answers.clone());
                async move { Ok::<_, Infallible>(respond(request, &issuer, &*answers).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn respond(
    request: Request<Incoming>,
    issuer: &Issuer,
    answers: &dyn Answers,
) -> Response<Full<Bytes>> {
    issuer.calls.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return status(400, "unreadable or oversized body"),
    };
    let request = Request::from_parts(parts, body);
    let behaviour = *lock(&issuer.behaviour);
    match behaviour {
        Behaviour::Hang => std::future::pending().await,
        Behaviour::Fail => answers.failure(),
        Behaviour::Answer | Behaviour::AnswerOnceThenHang => answers.answer(&request, issuer),
    }
}

/// A plain-text answer.
pub(crate) fn status(code: u16, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::OK);
    response
}
