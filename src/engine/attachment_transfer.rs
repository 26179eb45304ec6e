//! Attachment data on its way from the service into a replica file: the data of attachments a
//! createReplica or synchronizeReplica reply gives by URL is streamed, one attachment at a time,
//! into files of a private folder under the results directory (memory holds one chunk, never a
//! whole photo set), then handed to the replica file, which writes it in the same transaction as
//! the feature changes. The folder is removed when the [`Fetched`] value is dropped, applied or not.

use super::error::EngineError;
use crate::geodatabase::replica_file::AttachmentPayloads;
use crate::protocol::{Attachment, Guid, ReplicaResponse};
use crate::service::FeatureServiceClient;
use std::path::{Path, PathBuf};

/// Largest attachment fetched when the reply does not say how large it is.
pub const MAX_UNDECLARED_ATTACHMENT_BYTES: u64 = 1 << 30;

/// Downloaded attachment data, by attachment GlobalID; the files go when this is dropped.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    dir: Option<PathBuf>,
    pub payloads: AttachmentPayloads,
}

impl Drop for Fetched {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take()
            && let Err(err) = std::fs::remove_dir_all(&dir)
        {
            tracing::debug!(dir = %dir.display(), %err, "could not remove downloaded attachment data");
        }
    }
}

/// Every attachment in a reply (createReplica data and sync downloads) that came by URL.
pub(crate) fn by_url(response: &ReplicaResponse) -> Vec<&Attachment> {
    let data = response.layers.iter().flat_map(|l| l.attachments.iter());
    let edits = response
        .edits
        .iter()
        .flat_map(|l| l.attachments.adds.iter().chain(&l.attachments.updates));
    data.chain(edits)
        .filter(|a| a.data.is_none() && a.url.is_some())
        .collect()
}

/// Streams the data of `attachments` into files under `results_dir`. Each download may not
/// exceed the size the reply declared for it. The first failure stops (nothing is applied).
pub(crate) async fn fetch(
    client: &FeatureServiceClient,
    attachments: &[&Attachment],
    results_dir: &Path,
) -> Result<Fetched, EngineError> {
    let mut fetched = Fetched::default();
    if attachments.is_empty() {
        return Ok(fetched);
    }
    let dir = results_dir.join(format!("attachments-{}", Guid::new_v4().bare()));
    fetched.dir = Some(dir.clone());
    for attachment in attachments {
        let (Some(url), Ok(global_id)) = (&attachment.url, Guid::parse(&attachment.global_id))
        else {
            continue;
        };
        let limit = attachment
            .size
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(MAX_UNDECLARED_ATTACHMENT_BYTES);
        let file = client.download_attachment(url, &dir, limit).await?;
        fetched
            .payloads
            .insert(global_id.as_str().to_string(), file);
    }
    Ok(fetched)
}
