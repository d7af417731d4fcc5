//! The main journeys of a person using the proxy, in a real headless Chromium. Each
//! starts its own stack and browser, runs within `JOURNEY_LIMIT`, and saves a screenshot
//! of where it ended under `target/e2e/`.

use std::time::Duration;

use e2e::{bounded, png_image, poll, webm_clip, Journey, JOURNEY_LIMIT, WAIT};
use fantoccini::Locator;
use serde_json::Value;
use test_kit::StoredHeaders;

const SESSION_COOKIE: &str = "assets_session_id";

/// A page whose script shows the query it was opened with: proof that it rendered,
/// scripts ran, and the query survived the sign-in.
const REPORT_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Quarterly report</title></head>
<body>
<h1 id="heading">Quarterly report</h1>
<p>Opened with <code id="query">(no script ran)</code></p>
<script>document.getElementById("query").textContent = location.search;</script>
</body></html>
"#;

fn put_report(journey: &Journey) {
    journey
        .stack
        .put_object("docs/report.html", REPORT_PAGE.as_bytes());
}

/// Waits until the report page is rendered and its script has shown `query`.
async fn expect_report(journey: &Journey, query: &str) {
    poll("the report page to render", WAIT, || async {
        let shown = journey
            .js("var q = document.getElementById('query'); return q ? q.textContent : null")
            .await;
        (shown == query).then_some(())
    })
    .await;
    let heading = journey
        .client()
        .find(Locator::Id("heading"))
        .await
        .expect("the report's heading")
        .text()
        .await
        .expect("heading text");
    assert_eq!(heading, "Quarterly report");
}

/// The session cookie's value, as the browser keeps it.
async fn session_cookie(journey: &Journey) -> fantoccini::cookies::Cookie<'static> {
    journey
        .client()
        .get_named_cookie(SESSION_COOKIE)
        .await
        .unwrap_or_else(|e| panic!("no {SESSION_COOKIE} cookie in the browser: {e}"))
}

#[tokio::test]
async fn sign_in_returns_to_the_page_with_its_query_and_sets_an_http_only_cookie() {
    bounded("sign_in", JOURNEY_LIMIT, async {
        let journey = Journey::start("sign_in").await;
        put_report(&journey);

        journey.goto("/docs/report.html?x=1").await;
        let label = journey.expect_sign_in_page().await;
        assert!(label.starts_with("Sign in"), "{label:?}");
        journey.click_sign_in().await;
        journey
            .wait_for_url(&journey.url("/docs/report.html?x=1"))
            .await;
        expect_report(&journey, "?x=1").await;

        let cookie = session_cookie(&journey).await;
        assert_eq!(cookie.http_only(), Some(true), "{cookie}");
        assert_eq!(
            cookie.same_site().map(|s| s.to_string()).as_deref(),
            Some("Lax"),
            "over http the cookie is Lax: {cookie}"
        );
        assert_ne!(cookie.secure(), Some(true), "over http: {cookie}");
        // HttpOnly, seen from the page: its scripts cannot read the session.
        let visible = journey.js("return document.cookie").await;
        assert!(
            !visible.as_str().unwrap_or("").contains(SESSION_COOKIE),
            "document.cookie shows the session: {visible}"
        );
        // The cookie names a session the proxy stored.
        let token_key = format!("s3proxy__assets_session_id__{}__sso_token", cookie.value());
        assert_eq!(
            journey.stack.redis.keys(&token_key).await,
            vec![token_key.clone()]
        );

        journey.finish().await;
    })
    .await;
}

/// The value of `expression` about the video element `v` of the player page.
async fn clip(journey: &Journey, expression: &str) -> Value {
    journey
        .js(&format!(
            "var v = document.getElementById('clip'); return {expression};"
        ))
        .await
}

#[tokio::test]
async fn a_video_plays_and_seeks_through_range_requests() {
    bounded("video", JOURNEY_LIMIT, async {
        let journey = Journey::start("video").await;
        let media = tempfile::tempdir().expect("temp dir for the clip");
        let bytes = std::fs::read(webm_clip(media.path(), 32)).expect("read the clip");
        journey.stack.put_object("media/clip.webm", &bytes);
        journey.stack.put_object(
            "media/player.html",
            br#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Clip</title></head>
<body><video id="clip" src="/media/clip.webm" controls muted width="640"></video></body>
</html>
"#,
        );
        journey.sign_in_at("/media/player.html").await;

        let duration = poll("the clip's metadata", WAIT, || async {
            clip(&journey, "v.readyState >= 1 ? v.duration : null")
                .await
                .as_f64()
        })
        .await;
        assert!(duration >= 30.0, "the clip lasts {duration} s");

        // play() answers with a promise: resolved means playback started.
        let played = journey
            .client()
            .execute_async(
                "var done = arguments[arguments.length - 1];\
                 document.getElementById('clip').play()\
                   .then(function () { done('playing'); }, function (e) { done(String(e)); });",
                Vec::new(),
            )
            .await
            .expect("play()");
        assert_eq!(played, Value::from("playing"));
        let now = || async {
            clip(&journey, "v.currentTime")
                .await
                .as_f64()
                .expect("currentTime is a number")
        };
        poll("the clip to play from the start", WAIT, || async {
            (now().await > 0.5).then_some(())
        })
        .await;

        let target = duration / 2.0;
        clip(&journey, &format!("(v.currentTime = {target}, null)")).await;
        let landed = poll("the seek to the middle", WAIT, || async {
            let state = clip(&journey, "[v.seeking, v.currentTime]").await;
            let seeking = state[0].as_bool()?;
            let at = state[1].as_f64()?;
            (!seeking && at >= target).then_some(at)
        })
        .await;
        assert!(
            landed < target + 5.0,
            "the seek landed at {landed}, not near {target}"
        );
        // Still playing after the seek: time keeps advancing, more than a second.
        poll("the clip to keep playing after the seek", WAIT, || async {
            (now().await > landed + 1.5).then_some(())
        })
        .await;
        let state = clip(&journey, "[v.paused, v.ended, v.error === null]").await;
        assert_eq!(
            state,
            serde_json::json!([false, false, true]),
            "paused, ended, no error"
        );

        // The clip came as ranges: several 206s (it is larger than what Chromium reads
        // in one go, and its index is at the end), never a whole 200 or an error.
        // Chromium may also revalidate what it cached, which S3 answers 304.
        let logs = journey
            .stack
            .proxy
            .logs_with("GET /media/clip.webm 206")
            .await;
        let answers: Vec<&str> = logs
            .lines()
            .filter_map(|l| l.split_once("GET /media/clip.webm ").map(|(_, rest)| rest))
            .collect();
        let ranges = answers.iter().filter(|a| a.starts_with("206 ")).count();
        assert!(
            ranges >= 2,
            "{ranges} range requests for the clip, 2 at least expected:\n{logs}"
        );
        assert!(
            answers
                .iter()
                .all(|a| a.starts_with("206 ") || a.starts_with("304 ")),
            "a request for the clip was not answered with a range: {answers:?}"
        );
        eprintln!("video: the proxy's answers for the clip: {answers:?}");

        journey.finish().await;
    })
    .await;
}

#[tokio::test]
async fn an_image_renders_and_an_attachment_downloads_byte_for_byte() {
    bounded("images_and_downloads", JOURNEY_LIMIT, async {
        let journey = Journey::start("images_and_downloads").await;
        let media = tempfile::tempdir().expect("temp dir for the image");
        let png = std::fs::read(png_image(media.path(), 64, 48)).expect("read the image");
        journey.stack.put_object("images/pattern.png", &png);
        // Bytes of every value, so a download mangled as text would show.
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        journey.stack.put_object_with(
            "files/data.bin",
            &data,
            &StoredHeaders {
                content_disposition: Some("attachment; filename=\"export.bin\"".into()),
                ..Default::default()
            },
        );
        journey.stack.put_object(
            "pages/gallery.html",
            br#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Gallery</title></head>
<body>
<h1>Gallery</h1>
<img id="pattern" src="/images/pattern.png" alt="test pattern" width="256">
<p><a id="download" href="/files/data.bin">Download the data</a></p>
</body></html>
"#,
        );
        journey.sign_in_at("/pages/gallery.html").await;

        let size = poll("the image to load", WAIT, || async {
            let state = journey
                .js("var i = document.getElementById('pattern');\
                     return [i.complete, i.naturalWidth, i.naturalHeight]")
                .await;
            let (width, height) = (state[1].as_u64()?, state[2].as_u64()?);
            (state[0].as_bool()? && width > 0).then_some((width, height))
        })
        .await;
        assert_eq!(size, (64, 48), "the image's natural size");

        journey.click("#download").await;
        let bytes = journey.downloaded("export.bin").await;
        assert!(
            bytes == data,
            "the download differs ({} bytes, {} expected)",
            bytes.len(),
            data.len()
        );
        // The page stayed where it was: an attachment is not a navigation.
        assert_eq!(
            journey.current_url().await,
            journey.url("/pages/gallery.html")
        );

        journey.finish().await;
    })
    .await;
}

#[tokio::test]
async fn after_the_session_ends_a_reload_signs_in_again_and_returns() {
    bounded("session_end", JOURNEY_LIMIT, async {
        let journey = Journey::start("session_end").await;
        put_report(&journey);
        journey.sign_in_at("/docs/report.html?x=1").await;
        expect_report(&journey, "?x=1").await;
        let first = session_cookie(&journey).await.value().to_string();

        let redis = &journey.stack.redis;
        let keys = redis
            .keys(&format!("s3proxy__assets_session_id__{first}__*"))
            .await;
        assert!(!keys.is_empty(), "the session has no keys in Redis");
        for key in &keys {
            let _: i64 = redis.query(&["DEL", key]).await;
        }

        journey.client().refresh().await.expect("reload");
        journey.click_sign_in().await;
        journey
            .wait_for_url(&journey.url("/docs/report.html?x=1"))
            .await;
        expect_report(&journey, "?x=1").await;
        let second = session_cookie(&journey).await.value().to_string();
        assert_ne!(first, second, "a new sign-in gives a new session");

        journey.finish().await;
    })
    .await;
}

#[tokio::test]
async fn an_expired_state_shows_the_try_again_page() {
    bounded("expired_state", JOURNEY_LIMIT, async {
        let journey = Journey::start("expired_state").await;
        put_report(&journey);
        journey.goto("/docs/report.html?x=1").await;
        journey.expect_sign_in_page().await;

        // What 60 s of waiting would do: the state is gone from Redis.
        let redis = &journey.stack.redis;
        let states = redis.keys("s3proxy__sso_state__*").await;
        assert_eq!(states.len(), 1, "one login started: {states:?}");
        let _: i64 = redis.query(&["DEL", &states[0]]).await;

        journey.click_sign_in().await;
        poll("the proxy's try-again page", WAIT, || async {
            journey
                .text()
                .await
                .contains("Please try the original link again.")
                .then_some(())
        })
        .await;
        assert!(
            journey
                .current_url()
                .await
                .starts_with(&journey.url("/__redirect_from_sso?")),
            "the page is the proxy's callback"
        );
        assert!(
            journey
                .client()
                .get_named_cookie(SESSION_COOKIE)
                .await
                .is_err(),
            "no session may come of an expired state"
        );
        assert!(redis.keys("s3proxy__assets_session_id__*").await.is_empty());

        journey.finish().await;
    })
    .await;
}

#[tokio::test]
async fn a_missing_object_shows_a_page_a_person_can_read() {
    bounded("not_found", JOURNEY_LIMIT, async {
        let journey = Journey::start("not_found").await;
        put_report(&journey);
        journey.sign_in_at("/docs/report.html").await;
        expect_report(&journey, "").await;

        journey.goto("/docs/no-such-report.html").await;
        let text = journey.text().await;
        assert!(text.contains("Check the link"), "the page says: {text}");
        assert_eq!(
            journey.current_url().await,
            journey.url("/docs/no-such-report.html")
        );
        let logs = journey
            .stack
            .proxy
            .logs_with("GET /docs/no-such-report.html 404")
            .await;
        assert!(
            logs.contains("GET /docs/no-such-report.html 404"),
            "the proxy did not answer 404:\n{logs}"
        );

        journey.finish().await;
    })
    .await;
}

/// Bounded waits must fail rather than hang: a condition that never holds ends in a
/// panic naming it.
#[tokio::test]
#[should_panic(expected = "waited 0 s for something that never happens")]
async fn waits_fail_when_the_condition_never_holds() {
    poll("something that never happens", Duration::ZERO, || async {
        None::<()>
    })
    .await;
}
