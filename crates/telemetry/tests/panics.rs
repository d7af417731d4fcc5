//! A panic anywhere in the process reaches Sentry (against a local stand-in for it).

use std::time::Duration;

use telemetry::{init_sentry, SentrySettings};
use test_kit::Recorder;

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_is_sent_to_sentry() {
    let sentry = Recorder::start().await;
    let guard = init_sentry(&SentrySettings {
        dsn: format!("http://publickey@127.0.0.1:{}/7", sentry.port()),
        release: "test@1".into(),
        environment: "test".into(),
        traces_sample_rate: 0.0,
        ecs_metadata_uri: None,
    });
    let panicked = std::thread::spawn(|| panic!("worker gave up: code 4242")).join();
    assert!(panicked.is_err());
    assert!(guard.flush(Some(Duration::from_secs(5))));
    let received = sentry
        .wait_for(Duration::from_secs(5), |r| {
            r.iter()
                .any(|r| String::from_utf8_lossy(&r.body).contains("code 4242"))
        })
        .await;
    let event = received
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .find(|b| b.contains("code 4242"))
        .expect("the panic was not sent");
    assert!(event.contains("\"level\":\"fatal\""), "{event}");
    assert!(event.contains("\"instance_id\":\"undefined\""), "{event}");
}
