//! S3: bundles are streamed (GetObject body → a blocking `Read`), never downloaded whole.

use std::io::Read;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use eks_remedy_pipeline::ports::{ObjectStore, Presigner};
use eks_remedy_pipeline::PortError;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio_util::io::SyncIoBridge;

use crate::classify;

/// The adapter.
pub struct Objects {
    client: Client,
}

impl Objects {
    /// Wraps a client (moto needs path-style addressing: see [`client`]).
    pub fn new(client: Client) -> Self {
        Objects { client }
    }
}

/// What `CopySource` may carry unencoded: keys hold `:` (incident ids) and `/`, which S3 wants
/// percent-encoded except for the separators.
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An S3 client; `S3_FORCE_PATH_STYLE=true` for endpoints without virtual-host buckets (moto).
pub fn client(config: &aws_config::SdkConfig) -> Client {
    let path_style = std::env::var("S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true");
    Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build(),
    )
}

impl ObjectStore for Objects {
    async fn open(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, PortError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify("s3", e))?;
        // The bridge blocks on the runtime handle: read it from a blocking thread only.
        Ok(Box::new(SyncIoBridge::new(out.body.into_async_read())))
    }

    async fn size(&self, bucket: &str, key: &str) -> Result<u64, PortError> {
        let out = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify("s3", e))?;
        // S3 always sends Content-Length; a negative or missing one is not an object to read.
        out.content_length()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| PortError::Transient {
                service: "s3",
                message: format!("HeadObject s3://{bucket}/{key} returned no size"),
            })
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), PortError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| classify("s3", e))?;
        Ok(())
    }

    async fn list(&self, bucket: &str, prefix: &str, max: usize) -> Result<Vec<String>, PortError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("s3", e))?;
            for object in page.contents() {
                if keys.len() == max {
                    return Ok(keys);
                }
                if let Some(key) = object.key() {
                    keys.push(key.to_string());
                }
            }
        }
        Ok(keys)
    }

    async fn relocate(&self, bucket: &str, from: &str, to: &str) -> Result<(), PortError> {
        self.client
            .copy_object()
            .bucket(bucket)
            .key(to)
            .copy_source(format!(
                "{bucket}/{}",
                utf8_percent_encode(from, COPY_SOURCE)
            ))
            .send()
            .await
            .map_err(|e| classify("s3", e))?;
        // Only after the copy landed: a failed copy leaves the original for a retry.
        self.client
            .delete_object()
            .bucket(bucket)
            .key(from)
            .send()
            .await
            .map_err(|e| classify("s3", e))?;
        Ok(())
    }
}

/// Pre-signed `GetObject` URLs (SigV4, query parameters), made locally with the client's
/// credentials: the URL carries the signer's rights, so the role needs `s3:GetObject` on the
/// objects it links, and the URL stops working when those (temporary) credentials expire, if
/// that comes before `expires`.
impl Presigner for Objects {
    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: std::time::Duration,
    ) -> Result<String, PortError> {
        let config = PresigningConfig::expires_in(expires).map_err(|e| PortError::Refused {
            service: "s3",
            message: format!("cannot pre-sign for {}s: {e}", expires.as_secs()),
        })?;
        let request = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| classify("s3", e))?;
        Ok(request.uri().to_string())
    }
}
