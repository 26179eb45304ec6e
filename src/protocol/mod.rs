//! GeoServices REST sync wire types (serde) and the error-code catalog, shared by `service`
//! (the client) and `server` (the reference feature service). No I/O here: only shapes,
//! tolerant parsing, form encoding and the catalog.

pub mod catalog;
pub mod edits;
pub mod error;
pub mod form;
pub mod guid;
pub mod lenient;
pub mod replica;
pub mod rules;
pub mod service_info;

pub use catalog::{CatalogEntry, ErrorDomain, Resend, Series, TransportKind};
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
pub use replica::{
    AttachmentsSyncDirection, CreateReplicaParams, DataFormat, JobState, LayerQuery,
    LayerServerGen, QueryOption, ReplicaInfo, ReplicaLayerData, ReplicaLayerInfo, ReplicaListEntry,
    ReplicaResponse, ResponseType, SyncDirection, SyncLayerSpec, SyncModel, SyncReplicaParams,
    TransportType,
};
pub use service_info::{
    CodedValue, Domain, EditFieldsInfo, EditorTrackingInfo, FeatureServiceInfo, Field, FieldType,
    Index, LayerInfo, LayerRef, OwnershipAccessControl, SyncCapabilities, XssPreventionInfo,
};
