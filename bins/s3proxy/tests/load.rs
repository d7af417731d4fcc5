//! Load: many logins at once, many large downloads at once, memory bounded.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use common::{login, stack};
use test_kit::{pattern, state_of, Browser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_anonymous_requests_get_distinct_states() {
    let stack = stack().start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = stack.proxy.url("/video.mp4");
    let started = Instant::now();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let r = client.get(url).send().await.expect("request");
                let status = r.status().as_u16();
                let location = r.headers()["location"].to_str().unwrap().to_string();
                (status, location)
            })
        })
        .collect();
    let mut states = HashSet::new();
    for task in tasks {
        let (status, location) = task.await.unwrap();
        assert_eq!(status, 302);
        states.insert(state_of(&location));
    }
    println!("1000 concurrent logins started in {:?}", started.elapsed());
    assert_eq!(states.len(), 1000);
    assert_eq!(stack.redis.keys("s3proxy__sso_state__*").await.len(), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_16_mib_downloads_are_exact_in_bounded_memory() {
    let stack = stack().start().await;
    let content = Arc::new(pattern(16 << 20));
    stack.put_object("big.bin", &content);
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let client = reqwest::Client::new();
    let url = stack.proxy.url("/big.bin");
    let started = Instant::now();
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (client, url, cookie, content) =
                (client.clone(), url.clone(), cookie.clone(), content.clone());
            tokio::spawn(async move {
                let mut r = client
                    .get(url)
                    .header("cookie", cookie)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let mut offset = 0;
                // Compare as it arrives, so the test itself holds no 3 GiB.
                while let Some(chunk) = r.chunk().await.unwrap() {
                    assert!(
                        chunk[..] == content[offset..offset + chunk.len()],
                        "at {offset}"
                    );
                    offset += chunk.len();
                }
                offset
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 16 << 20);
    }
    let (_, peak_kib) = stack.proxy.memory_kib();
    println!(
        "200 x 16 MiB in {:?}; proxy peak RSS {} MiB",
        started.elapsed(),
        peak_kib / 1024
    );
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
}
