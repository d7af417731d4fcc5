//! Access rules and sign-out with the real binary, a real `redis-server`, dev-s3 and the
//! SSO mock in both sign-in modes: the rules read from the environment and from a file,
//! a person removed from a group refused after the grace period, a bad rules file
//! refused at start, and a signed-out cookie worthless afterwards.

mod common;

use std::time::Duration;

use common::stack;
use test_kit::{free_port, raw_get, Browser};

const FINANCE_ONLY: &str = r#"
[[rule]]
prefix = "finance/"
groups = ["finance"]
"#;

/// A rules file in a temporary folder (removed when the first value is dropped).
fn rules_file(rules: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir for the rules");
    let file = dir.path().join("rules.toml");
    std::fs::write(&file, rules).expect("write the rules");
    (dir, file.display().to_string())
}

async fn denied_total(metrics_port: u16) -> String {
    let page = raw_get(metrics_port, "GET /metrics HTTP/1.1", &[]).await;
    let text = String::from_utf8(page.body).expect("metrics are text");
    text.lines()
        .find(|l| l.starts_with("s3proxy_access_denied_total "))
        .unwrap_or("s3proxy_access_denied_total missing")
        .to_string()
}

#[tokio::test]
async fn global_lists_from_the_environment_allow_a_domain_and_refuse_everyone_else() {
    let metrics_port = free_port();
    let stack = stack()
        .env("ALLOWED_EMAIL_DOMAINS", "EXAMPLE.com")
        .env("METRICS_PORT", &metrics_port.to_string())
        .start()
        .await;
    stack.put_object("notes.txt", b"notes");
    let browser = Browser::new();
    let page = browser.get(&stack.proxy.url("/notes.txt")).await;
    assert_eq!(page.status, 200, "{}", stack.proxy.logs());
    assert_eq!(page.body, b"notes");
    // The profile is kept with the session in Redis when rules are on.
    assert_eq!(stack.redis.keys("*__profile").await.len(), 1);

    let other = stack
        .spawn_proxy(&[
            ("ALLOWED_EMAIL_DOMAINS", Some("example.org")),
            ("METRICS_PORT", None),
        ])
        .await;
    let browser = Browser::new();
    let page = browser.get(&other.url("/notes.txt")).await;
    assert_eq!(page.status, 403, "{}", other.logs());
    assert_eq!(
        page.headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert!(String::from_utf8_lossy(&page.body).contains("test.user@example.com"));
    assert!(other
        .logs_with("GET /notes.txt 403")
        .await
        .contains("GET /notes.txt 403"));
    // The first proxy refused nobody.
    assert_eq!(
        denied_total(metrics_port).await,
        "s3proxy_access_denied_total 0"
    );
}

#[tokio::test]
async fn a_person_removed_from_a_group_is_refused_after_the_grace_period() {
    let (_dir, file) = rules_file(FINANCE_ONLY);
    let stack = stack()
        .env("ACCESS_RULES_FILE", &file)
        .env("SSO_TOKEN_CHECK_GRACE_PERIOD", "1")
        .sso(|c| c.user_groups = Some(vec!["finance".into()]))
        .start()
        .await;
    stack.put_object("finance/budget.txt", b"budget");
    stack.put_object("docs/notes.txt", b"notes");
    let browser = Browser::new();
    let page = browser.get(&stack.proxy.url("/finance/budget.txt")).await;
    assert_eq!(page.status, 200, "{}", stack.proxy.logs());

    stack
        .sso
        .update(|c| c.user_groups = Some(vec!["staff".into()]));
    // Within the grace period the kept profile still counts.
    let page = browser.get(&stack.proxy.url("/finance/budget.txt")).await;
    assert_eq!(page.status, 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let page = browser.get(&stack.proxy.url("/finance/budget.txt")).await;
    assert_eq!(page.status, 403, "the re-check fetched the profile again");
    assert!(
        page.redirects.is_empty(),
        "refused where asked, no redirect"
    );
    // Keys outside the rule's prefix fall back to the global lists: none, so allowed.
    let page = browser.get(&stack.proxy.url("/docs/notes.txt")).await;
    assert_eq!(page.status, 200);
}

#[tokio::test]
async fn openid_groups_claim_opens_the_folder_and_sign_out_ends_the_session_everywhere() {
    let (_dir, file) = rules_file(FINANCE_ONLY);
    let stack = stack()
        .oidc(|o| o.groups = Some(vec!["finance".into()]))
        .env("ACCESS_RULES_FILE", &file)
        .start()
        .await;
    stack.put_object("finance/budget.txt", b"budget");
    let browser = Browser::new();
    let page = browser.get(&stack.proxy.url("/finance/budget.txt")).await;
    assert_eq!(page.status, 200, "{}", stack.proxy.logs());
    let cookie = browser
        .cookies_for(&stack.proxy.url("/"))
        .expect("a session cookie");

    // A second instance on the same Redis honours the same session.
    let other = stack.spawn_proxy(&[]).await;
    let target = "GET /finance/budget.txt HTTP/1.1";
    let before = raw_get(other.port(), target, &[("cookie", &cookie)]).await;
    assert_eq!(before.status, 200, "{}", other.logs());

    let out = raw_get(
        stack.proxy.port(),
        "GET /__sign_out HTTP/1.1",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(out.status, 302, "to the provider's end_session_endpoint");
    assert!(out
        .header("set-cookie")
        .is_some_and(|c| c.contains("Max-Age=0")));
    assert!(stack
        .redis
        .keys("s3proxy__assets_session_id__*")
        .await
        .is_empty());

    // The old cookie is worthless on both instances: a new sign-in, not the object.
    for proxy in [&stack.proxy, &other] {
        let after = raw_get(proxy.port(), target, &[("cookie", &cookie)]).await;
        assert_eq!(after.status, 302, "{}", proxy.logs());
        assert!(after.body.is_empty());
    }
}

fn run_with_rules(rules: &str) -> (Option<i32>, String) {
    let (_dir, file) = rules_file(rules);
    let env = common::offline_env(&[("ACCESS_RULES_FILE", file.as_str())]);
    let (code, logs, _) = common::exit_of(&env, Duration::from_secs(5));
    (code, logs)
}

#[test]
fn a_rules_file_that_does_not_hold_exits_2_naming_the_rule() {
    let duplicate =
        "[[rule]]\nprefix = \"a/\"\ngroups = [\"x\"]\n\n[[rule]]\nprefix = \"a/\"\nemails = []\n";
    let unknown = "[[rule]]\nprefix = \"b/\"\ngroup = [\"x\"]\n";
    let broken = "[[rule]\nprefix = \"c/\"\n";
    for (rules, names) in [
        (duplicate, "a/"),
        (unknown, "group"),
        (broken, "ACCESS_RULES_FILE"),
    ] {
        let (code, logs) = run_with_rules(rules);
        assert_eq!(code, Some(2), "{rules}\n{logs}");
        assert!(logs.contains("ACCESS_RULES_FILE"), "{logs}");
        assert!(logs.contains(names), "{names} in:\n{logs}");
    }
}
