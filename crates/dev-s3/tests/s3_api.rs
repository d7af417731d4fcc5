//! The S3 behaviour the proxy relies on, through the AWS SDK.

mod common;

use common::*;

use aws_sdk_s3::primitives::{ByteStream, DateTime};

use std::time::SystemTime;

#[tokio::test]
async fn get_whole_object_with_its_headers() {
    let f = Fixture::new().await;
    let out = f
        .client
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .send()
        .await
        .unwrap();

    assert_eq!(out.content_length(), Some(HELLO.len() as i64));
    assert_eq!(out.content_type(), Some("text/plain"));
    assert_eq!(out.e_tag(), Some(format!("\"{HELLO_MD5}\"").as_str()));
    assert_eq!(out.accept_ranges(), Some("bytes"));
    assert_eq!(out.content_range(), None);
    let mtime = std::fs::metadata(f.server.bucket_dir(BUCKET).join(HELLO_KEY))
        .unwrap()
        .modified()
        .unwrap();
    let mtime_secs = mtime
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(out.last_modified().map(DateTime::secs), Some(mtime_secs));
    assert_eq!(&out.body.collect().await.unwrap().into_bytes()[..], HELLO);
}

#[tokio::test]
async fn head_has_the_same_headers() {
    let f = Fixture::new().await;
    let out = f
        .client
        .head_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(out.content_length(), Some(HELLO.len() as i64));
    assert_eq!(out.content_type(), Some("text/plain"));
    assert_eq!(out.e_tag(), Some(format!("\"{HELLO_MD5}\"").as_str()));
    assert_eq!(out.accept_ranges(), Some("bytes"));
    assert!(out.last_modified().is_some());
}

#[tokio::test]
async fn range_gives_partial_content() {
    let f = Fixture::new().await;
    let out = f
        .client
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .range("bytes=1-3")
        .send()
        .await
        .unwrap();
    // The SDK hides the status; s3s answers 206 exactly when Content-Range is set.
    assert_eq!(out.content_range(), Some("bytes 1-3/14"));
    assert_eq!(out.content_length(), Some(3));
    assert_eq!(&out.body.collect().await.unwrap().into_bytes()[..], b"ell");

    let out = f
        .client
        .head_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .range("bytes=-4")
        .send()
        .await
        .unwrap();
    assert_eq!(out.content_range(), Some("bytes 10-13/14"));
    assert_eq!(out.content_length(), Some(4));
}

#[tokio::test]
async fn unsatisfiable_range_is_416_with_size() {
    let f = Fixture::new().await;
    let err = f
        .client
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .range("bytes=100-200")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 416);
    assert_eq!(code(&err).as_deref(), Some("InvalidRange"));
    assert_eq!(
        err.raw_response().unwrap().headers().get("content-range"),
        Some("bytes */14")
    );

    let err = f
        .client
        .head_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .range("bytes=14-")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 416);
}

#[tokio::test]
async fn missing_key_is_no_such_key() {
    let f = Fixture::new().await;
    f.write("folder/inner.txt", b"x");
    for key in ["nope.txt", "folder", "folder/"] {
        let err = f
            .client
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&err), 404, "{key}");
        assert!(err.into_service_error().is_no_such_key(), "{key}");

        let err = f
            .client
            .head_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&err), 404, "{key}");
    }
}

#[tokio::test]
async fn if_none_match_gives_304_without_body() {
    let f = Fixture::new().await;
    let etag = format!("\"{HELLO_MD5}\"");
    for cond in [etag.as_str(), "*"] {
        let err = f
            .client
            .get_object()
            .bucket(BUCKET)
            .key(HELLO_KEY)
            .if_none_match(cond)
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&err), 304, "{cond}");
        let raw = err.raw_response().unwrap();
        assert_eq!(raw.body().bytes(), Some(&b""[..]));
        assert_eq!(raw.headers().get("etag"), Some(etag.as_str()));

        let err = f
            .client
            .head_object()
            .bucket(BUCKET)
            .key(HELLO_KEY)
            .if_none_match(cond)
            .send()
            .await
            .unwrap_err();
        assert_eq!(status(&err), 304, "{cond}");
    }
    let out = f
        .client
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .if_none_match("\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(&out.body.collect().await.unwrap().into_bytes()[..], HELLO);
}

#[tokio::test]
async fn if_match_wrong_gives_412() {
    let f = Fixture::new().await;
    let err = f
        .client
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .if_match("\"other\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    assert_eq!(code(&err).as_deref(), Some("PreconditionFailed"));

    let err = f
        .client
        .head_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .if_match("\"other\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);

    let etag = format!("\"{HELLO_MD5}\"");
    f.client
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .if_match(etag)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn date_conditions() {
    let f = Fixture::new().await;
    let head = f
        .client
        .head_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .send()
        .await
        .unwrap();
    let last_modified = *head.last_modified().unwrap();
    let long_ago = DateTime::from_secs(last_modified.secs() - 3600);

    let err = f
        .client
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .if_modified_since(last_modified)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 304);
    f.client
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .if_modified_since(long_ago)
        .send()
        .await
        .unwrap();

    let err = f
        .client
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .if_unmodified_since(long_ago)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    f.client
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .if_unmodified_since(last_modified)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn conditions_come_before_the_range() {
    let f = Fixture::new().await;
    let req = || {
        f.client
            .get_object()
            .bucket(BUCKET)
            .key(HELLO_KEY)
            .range("bytes=100-")
    };
    let err = req().if_none_match("*").send().await.unwrap_err();
    assert_eq!(status(&err), 304);
    let err = req().if_match("\"other\"").send().await.unwrap_err();
    assert_eq!(status(&err), 412);
}

#[tokio::test]
async fn wrong_credentials_are_403() {
    let f = Fixture::new().await;
    let endpoint = f.server.endpoint();

    let wrong_secret = client(&endpoint, "test-access-key", "wrong-secret", "us-east-1");
    let err = wrong_secret
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 403);
    assert_eq!(code(&err).as_deref(), Some("SignatureDoesNotMatch"));

    let wrong_key = client(&endpoint, "someone-else", "test-secret-key", "us-east-1");
    let err = wrong_key
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 403);
}

#[tokio::test]
async fn any_region_is_accepted() {
    let f = Fixture::new().await;
    for region in ["eu-west-2", "ap-southeast-1", "local"] {
        let c = client(
            &f.server.endpoint(),
            "test-access-key",
            "test-secret-key",
            region,
        );
        c.get_object()
            .bucket(BUCKET)
            .key(HELLO_KEY)
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn request_count_counts_every_request() {
    let f = Fixture::new().await;
    assert_eq!(f.server.request_count(), 0);
    f.client
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(f.server.request_count(), 1);
    // Rejected ones too: the count is taken before authentication.
    let wrong = client(
        &f.server.endpoint(),
        "test-access-key",
        "wrong-secret",
        "us-east-1",
    );
    wrong
        .head_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .send()
        .await
        .unwrap_err();
    assert_eq!(f.server.request_count(), 2);
}

#[tokio::test]
async fn upload_list_and_delete_through_s3() {
    let f = Fixture::new().await;
    f.client
        .put_object()
        .bucket(BUCKET)
        .key("dir/pic.bin")
        .content_type("image/png")
        .body(ByteStream::from_static(b"png!"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(f.server.bucket_dir(BUCKET).join("dir/pic.bin")).unwrap(),
        b"png!"
    );

    let out = f
        .client
        .get_object()
        .bucket(BUCKET)
        .key("dir/pic.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(out.content_type(), Some("image/png"));

    let listed = f
        .client
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["dir/pic.bin", HELLO_KEY]);

    f.client
        .delete_object()
        .bucket(BUCKET)
        .key("dir/pic.bin")
        .send()
        .await
        .unwrap();
    assert!(!f.server.bucket_dir(BUCKET).join("dir/pic.bin").exists());
}

#[tokio::test]
async fn buckets_are_created_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = dev_s3::S3Config::new(dir.path().join("new-root"));
    config.buckets = vec!["a-bucket".to_owned(), "b-bucket".to_owned()];
    let server = dev_s3::S3Server::start(config).await.unwrap();
    assert!(server.bucket_dir("a-bucket").is_dir());
    assert!(server.bucket_dir("b-bucket").is_dir());
    assert_eq!(server.root(), dir.path().join("new-root"));

    let c = client(
        &server.endpoint(),
        "test-access-key",
        "test-secret-key",
        "us-east-1",
    );
    let listed = c.list_buckets().send().await.unwrap();
    let mut names: Vec<_> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["a-bucket", "b-bucket"]);
}
