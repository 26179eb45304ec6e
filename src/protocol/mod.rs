//! GeoServices REST sync wire types (serde) and the error-code catalog, shared by `service`
//! (the client) and `server` (the reference feature service). No I/O here: only shapes,
//! tolerant parsing, form encoding and the catalog.

pub mod catalog;
pub mod create_replica;
pub mod edits;
pub mod error;
pub mod form;
pub mod geometry;
pub mod guid;
pub mod job_state;
mod json_scan;
pub mod lenient;
pub mod query;
pub mod replica_info;
pub mod replica_reply;
pub mod replica_stream;
pub mod rules;
pub mod service_info;
pub mod spatial;
pub mod synchronize_replica;
pub mod unreadable;
pub mod wire_enum;

pub use catalog::{CatalogEntry, ErrorDomain, Resend, Series, TransportKind};
pub use create_replica::{CreateReplicaParams, LayerQuery};
pub use edits::{
    Attachment, AttachmentChanges, Attributes, ChangeType, EditError, EditResult, EditResultRow,
    Feature, FeatureChanges, LayerEdits, LayerSyncResult, ObjectType,
};
pub use error::{
    CarriesServiceError, ErrorEnvelope, ErrorInfo, ReplyError, ServiceError, SuccessReply,
    parse_reply,
};
pub use form::{FormBuilder, FormParams, ParamError};
pub use guid::{Guid, GuidError};
pub use job_state::JobState;
pub use query::{CountReply, IdsReply, OrderBy, QueryFormat, QueryParams, QueryReply};
pub use replica_info::{ReplicaInfo, ReplicaLayerInfo, ReplicaListEntry};
pub use replica_reply::{LayerServerGen, ReplicaLayerData, ReplicaResponse};
pub use replica_stream::{
    FeatureSink, FrontRead, StreamError, StreamedReply, read_feature, read_front_text,
    read_replica_stream, read_sync_stream,
};
pub use service_info::{
    AdvancedQueryCapabilities, CodedValue, Domain, EditFieldsInfo, EditorTrackingInfo,
    FeatureServiceInfo, Field, FieldType, Index, LayerInfo, LayerRef, OwnershipAccessControl,
    SyncCapabilities, XssPreventionInfo,
};
pub use synchronize_replica::{SyncLayerSpec, SyncReplicaParams};
pub use unreadable::UnreadableFeature;
pub use wire_enum::{
    AttachmentsSyncDirection, DataFormat, QueryOption, ResponseType, SyncDirection, SyncModel,
    TransportType,
};
