//! Server-side encryption as S3 reports it, over s3s-fs (which ignores
//! it): the encryption a PUT or a multipart upload asked for is remembered
//! per object and answered in the PUT, Complete, HEAD and GET responses; an
//! object stored without asking reports SSE-S3, S3's default since 2023.
//! Nothing is encrypted on disk: this lets tests check that clients send
//! the headers a real S3 acts on, and check what S3 says it applied.
//! Kept in memory: a restarted server reports the default.

use std::collections::HashMap;
use std::sync::Mutex;

use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, CompleteMultipartUploadInput,
    CompleteMultipartUploadOutput, CopyObjectInput, CopyObjectOutput, CreateBucketInput,
    CreateBucketOutput, CreateMultipartUploadInput, CreateMultipartUploadOutput, DeleteBucketInput,
    DeleteBucketOutput, DeleteObjectInput, DeleteObjectOutput, DeleteObjectsInput,
    DeleteObjectsOutput, GetBucketLocationInput, GetBucketLocationOutput, GetObjectInput,
    GetObjectOutput, HeadBucketInput, HeadBucketOutput, HeadObjectInput, HeadObjectOutput,
    ListBucketsInput, ListBucketsOutput, ListObjectsInput, ListObjectsOutput, ListObjectsV2Input,
    ListObjectsV2Output, ListPartsInput, ListPartsOutput, PutObjectInput, PutObjectOutput,
    SSEKMSKeyId, ServerSideEncryption, UploadPartInput, UploadPartOutput,
};
use s3s::{S3, S3Request, S3Response, S3Result};

/// An encryption and its KMS key.
type Sse = (ServerSideEncryption, Option<SSEKMSKeyId>);

/// s3s-fs, answering for server-side encryption.
pub struct WithSse {
    fs: s3s_fs::FileSystem,
    /// By `bucket/key`.
    objects: Mutex<HashMap<String, Sse>>,
    /// By multipart upload id, until completed.
    uploads: Mutex<HashMap<String, Sse>>,
}

impl WithSse {
    pub fn new(fs: s3s_fs::FileSystem) -> Self {
        Self {
            fs,
            objects: Mutex::default(),
            uploads: Mutex::default(),
        }
    }

    /// What the responses about an object say (its fields).
    fn of(&self, bucket: &str, key: &str) -> (Option<ServerSideEncryption>, Option<SSEKMSKeyId>) {
        let (sse, key) = lock(&self.objects)
            .get(&format!("{bucket}/{key}"))
            .cloned()
            .unwrap_or_else(|| {
                (
                    ServerSideEncryption::from_static(ServerSideEncryption::AES256),
                    None,
                )
            });
        (Some(sse), key)
    }

    fn remember(&self, bucket: &str, key: &str, sse: Option<Sse>) {
        let mut objects = lock(&self.objects);
        let name = format!("{bucket}/{key}");
        match sse {
            Some(sse) => objects.insert(name, sse),
            None => objects.remove(&name),
        };
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a request asked for.
fn asked(sse: Option<&ServerSideEncryption>, key: Option<&SSEKMSKeyId>) -> Option<Sse> {
    sse.map(|s| (s.clone(), key.cloned()))
}

#[async_trait::async_trait]
impl S3 for WithSse {
    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let sse = asked(
            req.input.server_side_encryption.as_ref(),
            req.input.ssekms_key_id.as_ref(),
        );
        let mut resp = self.fs.put_object(req).await?;
        self.remember(&bucket, &key, sse);
        (
            resp.output.server_side_encryption,
            resp.output.ssekms_key_id,
        ) = self.of(&bucket, &key);
        Ok(resp)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let sse = asked(
            req.input.server_side_encryption.as_ref(),
            req.input.ssekms_key_id.as_ref(),
        );
        let mut resp = self.fs.create_multipart_upload(req).await?;
        if let (Some(sse), Some(id)) = (sse, resp.output.upload_id.clone()) {
            resp.output.server_side_encryption = Some(sse.0.clone());
            resp.output.ssekms_key_id.clone_from(&sse.1);
            lock(&self.uploads).insert(id, sse);
        }
        Ok(resp)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let id = req.input.upload_id.clone();
        let mut resp = self.fs.complete_multipart_upload(req).await?;
        let sse = lock(&self.uploads).remove(&id);
        self.remember(&bucket, &key, sse);
        (
            resp.output.server_side_encryption,
            resp.output.ssekms_key_id,
        ) = self.of(&bucket, &key);
        Ok(resp)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        lock(&self.uploads).remove(&req.input.upload_id);
        self.fs.abort_multipart_upload(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let mut resp = self.fs.head_object(req).await?;
        (
            resp.output.server_side_encryption,
            resp.output.ssekms_key_id,
        ) = self.of(&bucket, &key);
        Ok(resp)
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let mut resp = self.fs.get_object(req).await?;
        (
            resp.output.server_side_encryption,
            resp.output.ssekms_key_id,
        ) = self.of(&bucket, &key);
        Ok(resp)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.remember(&req.input.bucket, &req.input.key, None);
        self.fs.delete_object(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        for object in &req.input.delete.objects {
            self.remember(&req.input.bucket, &object.key, None);
        }
        self.fs.delete_objects(req).await
    }

    // The rest as s3s-fs does it (listings with the keys encoded as S3
    // encodes them when asked: see `listing`).

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.fs.delete_bucket(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.fs.list_buckets(req).await
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
        let asked = req.input.encoding_type.clone();
        let mut resp = self.fs.list_objects_v2(req).await?;
        crate::listing::encode(&mut resp.output, asked.as_ref());
        Ok(resp)
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.fs.copy_object(req).await
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
}
