//! The `S3` implementation served: s3s-fs, with conditional requests, `Accept-Ranges`,
//! guessed content types and ranged HEAD added, since real S3 has them and the proxy
//! relies on them. Everything else is forwarded untouched.

use crate::gaps;
use crate::preconditions::Preconditions;

use s3s::dto::*;
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result, S3};
use s3s_fs::FileSystem;

use std::io;
use std::path::{Path, PathBuf};

/// s3s-fs over `root`, completed.
pub struct Backend {
    fs: FileSystem,
    root: PathBuf,
}

impl Backend {
    /// Serves the existing folder `root`.
    pub fn new(root: &Path) -> io::Result<Self> {
        // s3s-fs's error type is not a std error; its Debug form is all there is.
        let fs = FileSystem::new(root).map_err(|e| io::Error::other(format!("{e:?}")))?;
        Ok(Self {
            fs,
            root: root.to_owned(),
        })
    }

    fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }
}

#[async_trait::async_trait]
impl S3 for Backend {
    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        gaps::reject_directory(&self.object_path(&req.input.bucket, &req.input.key))?;
        let conditions = Preconditions::from(&req.input);
        let key = req.input.key.clone();
        // Kept for the unsatisfiable-range case, which needs the object's size and validators.
        let probe = req.clone().map_input(|input| HeadObjectInput {
            bucket: input.bucket,
            key: input.key,
            ..Default::default()
        });

        // Checking conditions on the GET's own answer costs one ETag computation, not two.
        match self.fs.get_object(req).await {
            Ok(mut resp) => {
                conditions.check(
                    resp.output.e_tag.as_ref(),
                    resp.output.last_modified.as_ref(),
                )?;
                gaps::fill_get(&mut resp.output, &key);
                Ok(resp)
            }
            Err(err) if *err.code() == S3ErrorCode::InvalidRange => {
                // Conditions are evaluated before the range, as RFC 9110 and S3 do.
                let head = self.fs.head_object(probe).await?.output;
                conditions.check(head.e_tag.as_ref(), head.last_modified.as_ref())?;
                let size = head
                    .content_length
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0);
                Err(gaps::invalid_range(size))
            }
            Err(err) => Err(err),
        }
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        gaps::reject_directory(&self.object_path(&req.input.bucket, &req.input.key))?;
        let conditions = Preconditions::from(&req.input);
        let key = req.input.key.clone();
        let range = req.input.range;

        let mut resp = self.fs.head_object(req).await?;
        conditions.check(
            resp.output.e_tag.as_ref(),
            resp.output.last_modified.as_ref(),
        )?;
        gaps::fill_head(&mut resp.output, &key);
        if let Some(range) = range {
            gaps::apply_head_range(&mut resp.output, &range)?;
        }
        Ok(resp)
    }

    // Forwarded as is: enough for tests to set up buckets and objects through S3 itself.

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.fs.list_buckets(req).await
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.fs.delete_bucket(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        self.fs.list_objects(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.fs.list_objects_v2(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.fs.put_object(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.fs.copy_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.fs.delete_object(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.fs.delete_objects(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.fs.upload_part(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.fs.list_parts(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.fs.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.fs.abort_multipart_upload(req).await
    }
}
