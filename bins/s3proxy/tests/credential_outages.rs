//! A credential source that stops answering, answers once and then hangs, or fails: the
//! proxy keeps answering. 50 concurrent requests (half for an object with a session,
//! half the healthcheck) are each answered within `S3_TIMEOUT` + 1 s, the source is
//! called a bounded number of times, and service comes back without a restart once it
//! answers again. Sources: an STS for web identity and an ECS credentials endpoint,
//! each a local stand-in; nothing else can give credentials.

mod common;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use common::{login, proxy_with_credentials_from, stack};
use test_kit::{
    Behaviour, Browser, CredentialEndpoint, EcsCredentials, Proxy, Recorded, Recorder, Stack,
    StsWebIdentity, HEALTHCHECK_KEY, WEB_IDENTITY_ROLE_ARN,
};

const S3_TIMEOUT: Duration = Duration::from_secs(4);
/// What each request of a burst must be answered within.
const ANSWER_LIMIT: Duration = Duration::from_secs(S3_TIMEOUT.as_secs() + 1);
const BURST: usize = 50;
const TOKEN: &str = "web-identity-token";

/// The stack, a signed-in session and a home without AWS files.
struct Setup {
    stack: Stack,
    cookie: String,
    home: tempfile::TempDir,
}

async fn setup() -> Setup {
    let stack = stack().start().await;
    stack.put_object("x.txt", b"x");
    stack.put_object(HEALTHCHECK_KEY, b"ok");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let home = tempfile::tempdir().expect("a temporary home");
    Setup {
        stack,
        cookie,
        home,
    }
}

enum Source {
    Sts(StsWebIdentity),
    Ecs(EcsCredentials),
}

impl Source {
    async fn sts(setup: &Setup, life: Duration) -> Source {
        let s3 = setup.stack.s3.temporary_credentials();
        Source::Sts(StsWebIdentity::start(s3, life, TOKEN).await)
    }

    async fn ecs(setup: &Setup, life: Duration) -> Source {
        let s3 = setup.stack.s3.temporary_credentials();
        Source::Ecs(EcsCredentials::start(s3, life).await)
    }

    fn endpoint(&self) -> &CredentialEndpoint {
        match self {
            Source::Sts(sts) => sts,
            Source::Ecs(ecs) => ecs,
        }
    }

    /// A proxy with `S3_TIMEOUT` that finds its credentials here only.
    async fn proxy(&self, setup: &Setup, extra: &[(&str, &str)]) -> Proxy {
        let home: &Path = setup.home.path();
        let mut vars: Vec<(&str, String)> = vec![("S3_TIMEOUT", S3_TIMEOUT.as_secs().to_string())];
        match self {
            Source::Sts(sts) => {
                let token_file = home.join("web-identity-token");
                std::fs::write(&token_file, TOKEN).expect("write the token file");
                vars.extend([
                    (
                        "AWS_WEB_IDENTITY_TOKEN_FILE",
                        token_file.display().to_string(),
                    ),
                    ("AWS_ROLE_ARN", WEB_IDENTITY_ROLE_ARN.to_string()),
                    ("AWS_ROLE_SESSION_NAME", "s3proxy-test".to_string()),
                    ("AWS_ENDPOINT_URL_STS", sts.endpoint_url()),
                ]);
            }
            Source::Ecs(ecs) => vars.push(("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.uri())),
        }
        vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        proxy_with_credentials_from(&setup.stack, home, &vars).await
    }
}

/// One request's answer: its status (`None`: none within the test's patience) and when.
struct Answer {
    status: Option<u16>,
    took: Duration,
}

async fn one_request(port: u16, cookie: String, healthcheck: bool) -> Answer {
    let started = Instant::now();
    let patience = ANSWER_LIMIT + Duration::from_secs(4);
    let (line, headers) = if healthcheck {
        (format!("GET /{HEALTHCHECK_KEY} HTTP/1.1"), vec![])
    } else {
        (
            "GET /x.txt HTTP/1.1".to_string(),
            vec![("Cookie", cookie.as_str())],
        )
    };
    let response = tokio::time::timeout(patience, test_kit::raw_get(port, &line, &headers)).await;
    Answer {
        status: response.ok().map(|r| r.status),
        took: started.elapsed(),
    }
}

/// `BURST` requests at once; each must be answered `status` within `ANSWER_LIMIT`.
async fn burst(proxy: &Proxy, cookie: &str, status: u16, what: &str) {
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..BURST {
        requests.spawn(one_request(proxy.port(), cookie.to_string(), i % 2 == 0));
    }
    let answers = requests.join_all().await;
    let late: Vec<String> = answers
        .iter()
        .filter(|a| a.status != Some(status) || a.took > ANSWER_LIMIT)
        .map(|a| format!("{:?} after {:?}", a.status, a.took))
        .collect();
    assert!(
        late.is_empty(),
        "{what}: {} of {BURST} requests not answered {status} within {ANSWER_LIMIT:?}: {late:?}\n{}",
        late.len(),
        proxy.logs()
    );
}

/// Once the source answers again, requests succeed again without a restart: within the
/// back-off and one load, and then all of a burst.
async fn recovers(proxy: &Proxy, cookie: &str, endpoint: &CredentialEndpoint) {
    endpoint.set_behaviour(Behaviour::Answer);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = one_request(proxy.port(), cookie.to_string(), true).await;
        if answer.status == Some(200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not recovered 15 s after the source answered again: {:?}\n{}",
            answer.status,
            proxy.logs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    burst(proxy, cookie, 200, "after recovery").await;
}

/// Calls made to the source while it was out, against the most it may get: one load
/// (each of up to `attempts` calls, the SDK's retries) at the start, then at most one
/// per back-off (2 s) while requests keep coming.
fn assert_calls_bounded(calls: usize, attempts: usize, outage: Duration, proxy: &Proxy) {
    let loads = 1 + (outage.as_secs_f64() / 2.0).ceil() as usize;
    assert!(
        calls <= attempts * loads,
        "{calls} calls to the credential source in {outage:?} (at most {} expected)\n{}",
        attempts * loads,
        proxy.logs()
    );
}

/// Which timeout cuts a hung load: the SDK client's own, at the source (STS), or the
/// cache's load timeout behind it (the ECS client's own bounds are longer).
#[derive(PartialEq)]
enum Cut {
    AtTheSource,
    ByTheLoadTimeout,
}

/// What the cache logs when its own load timeout cut a load.
const LOAD_TIMEOUT_CUT: &str = "the credential chain gave no answer within";

/// The source is out (hung or failing) from the start: every request is a fast 503,
/// the source is asked a bounded number of times, and service resumes when it answers.
async fn out_from_the_start(
    setup: Setup,
    source: Source,
    behaviour: Behaviour,
    attempts: usize,
    cut: Option<Cut>,
) {
    let endpoint = source.endpoint();
    endpoint.set_behaviour(behaviour);
    let proxy = source.proxy(&setup, &[]).await;
    let started = Instant::now();
    burst(&proxy, &setup.cookie, 503, "while out").await;
    // A second burst right after: failed fast during the back-off, or one more load.
    burst(&proxy, &setup.cookie, 503, "while still out").await;
    assert_calls_bounded(endpoint.calls(), attempts, started.elapsed(), &proxy);
    let logs = proxy.logs_with("no AWS credentials").await;
    assert!(
        logs.lines()
            .any(|l| l.contains("WARN") && l.contains("loading AWS credentials failed")),
        "{logs}"
    );
    if let Some(cut) = cut {
        assert_eq!(
            logs.contains(LOAD_TIMEOUT_CUT),
            cut == Cut::ByTheLoadTimeout,
            "{logs}"
        );
    }
    recovers(&proxy, &setup.cookie, endpoint).await;
    assert_eq!(endpoint.issued(), 1, "{}", proxy.logs());
}

#[tokio::test]
async fn an_sts_that_never_answers() {
    let setup = setup().await;
    let source = Source::sts(&setup, Duration::from_secs(3600)).await;
    out_from_the_start(setup, source, Behaviour::Hang, 1, Some(Cut::AtTheSource)).await;
}

#[tokio::test]
async fn an_ecs_endpoint_that_never_answers() {
    let setup = setup().await;
    let source = Source::ecs(&setup, Duration::from_secs(3600)).await;
    out_from_the_start(
        setup,
        source,
        Behaviour::Hang,
        1,
        Some(Cut::ByTheLoadTimeout),
    )
    .await;
}

/// Failing sources are retried by the SDK within one load (3 attempts).
#[tokio::test]
async fn an_sts_that_fails() {
    let setup = setup().await;
    let source = Source::sts(&setup, Duration::from_secs(3600)).await;
    out_from_the_start(setup, source, Behaviour::Fail, 3, None).await;
}

#[tokio::test]
async fn an_ecs_endpoint_that_fails() {
    let setup = setup().await;
    let source = Source::ecs(&setup, Duration::from_secs(3600)).await;
    out_from_the_start(setup, source, Behaviour::Fail, 3, None).await;
}

/// The source answers once (credentials for 32 s), then hangs: the credentials are
/// used to the end of their life while the refresh hangs and after it failed (a
/// `warn`), their expiry without a replacement is an `error`, requests after it are
/// fast 503s (each an error line and a Sentry event), and service resumes when the
/// source answers.
async fn answers_once_then_hangs(setup: Setup, source: Source) {
    let sentry = Recorder::start().await;
    let dsn = format!("http://publickey@127.0.0.1:{}/42", sentry.port());
    let endpoint = source.endpoint();
    endpoint.set_behaviour(Behaviour::AnswerOnceThenHang);
    let proxy = source.proxy(&setup, &[("SENTRY_DSN", &dsn)]).await;
    let first = one_request(proxy.port(), setup.cookie.clone(), false).await;
    assert_eq!(first.status, Some(200), "{}", proxy.logs());
    let set = endpoint.issued_sets()[0].clone();

    // The refresh point is a quarter of the life (8 s) before expiry, the margin in
    // which they are no longer used a tenth (3.2 s). In between: the first request
    // starts a refresh, which hangs; the second comes while it hangs, the third after
    // it failed (cut at the load timeout, 2 s). All are served with the current set.
    for before_expiry in [7500, 6500, 4500] {
        sleep_until(set.expires - Duration::from_millis(before_expiry)).await;
        let answer = one_request(proxy.port(), setup.cookie.clone(), true).await;
        assert_eq!(
            answer.status,
            Some(200),
            "{before_expiry} ms before expiry:\n{}",
            proxy.logs()
        );
    }
    // The first set, the refresh that hung, and (should the last request come late,
    // after the 2 s back-off) one more.
    assert!(
        (2..=3).contains(&endpoint.calls()),
        "{} calls",
        endpoint.calls()
    );

    sleep_until(set.expires + Duration::from_millis(500)).await;
    let outage = Instant::now();
    burst(&proxy, &setup.cookie, 503, "after expiry").await;
    burst(&proxy, &setup.cookie, 503, "still after expiry").await;
    // The refresh that hung, then loads at most one per back-off.
    assert_calls_bounded(
        endpoint.calls() - 1,
        1,
        outage.elapsed() + S3_TIMEOUT,
        &proxy,
    );

    let logs = proxy.logs_with("AWS credentials expired").await;
    let line =
        |level: &str, text: &str| logs.lines().any(|l| l.contains(level) && l.contains(text));
    assert!(
        line(
            "WARN",
            "loading AWS credentials failed; the current ones stay in use"
        ),
        "{logs}"
    );
    assert!(line("ERROR", "AWS credentials expired"), "{logs}");
    assert!(line("ERROR", "no AWS credentials"), "{logs}");
    let events = sentry
        .wait_for(Duration::from_secs(5), |r| !credential_events(r).is_empty())
        .await;
    let events = credential_events(&events);
    assert!(
        events.iter().all(|e| e.contains("\"dependency\":\"s3\"")),
        "{events:#?}"
    );
    assert!(!events.is_empty(), "no Sentry event for a 503");

    recovers(&proxy, &setup.cookie, endpoint).await;
    assert_eq!(endpoint.issued(), 2, "{}", proxy.logs());
}

/// Sentry events about missing credentials among the requests Sentry received.
fn credential_events(requests: &[Recorded]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.path.ends_with("/envelope/"))
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .filter(|e| e.contains("\"type\":\"event\"") && e.contains("no AWS credentials"))
        .collect()
}

async fn sleep_until(when: SystemTime) {
    let wait = when
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    tokio::time::sleep(wait).await;
}

#[tokio::test]
async fn an_sts_that_answers_once_then_hangs() {
    let setup = setup().await;
    let source = Source::sts(&setup, Duration::from_secs(32)).await;
    answers_once_then_hangs(setup, source).await;
}

#[tokio::test]
async fn an_ecs_endpoint_that_answers_once_then_hangs() {
    let setup = setup().await;
    let source = Source::ecs(&setup, Duration::from_secs(32)).await;
    answers_once_then_hangs(setup, source).await;
}
