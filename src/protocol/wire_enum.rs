//! The wire enums of the sync operations, declared with [`wire_enum!`]: the canonical spelling
//! each value is sent with, and the other spellings real servers and clients use, accepted on
//! the way in (case-insensitive, ignoring spaces, `-` and `_`). Serde reads and writes the text.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a wire enum: its canonical spelling, extra accepted spellings, case-insensitive
/// parsing that ignores spaces, and serde as text.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal $(| $alt:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let key: String = s.chars().filter(|c| !c.is_whitespace() && *c != '-' && *c != '_').collect::<String>().to_ascii_lowercase();
                $(
                    if key == $text.to_ascii_lowercase() $(|| key == $alt.to_ascii_lowercase())* {
                        return Ok($name::$variant);
                    }
                )+
                let accepted: Vec<&str> = vec![$($text),+];
                Err(format!("{s:?} is not one of {}", accepted.join(", ")))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

wire_enum!(
    /// How generations are kept: one for the replica, one per layer, or none (export only).
    SyncModel { PerReplica => "perReplica" | "esriSyncModelPerReplica" | "perGeodatabase", PerLayer => "perLayer" | "esriSyncModelPerLayer", None => "none" }
);
wire_enum!(
    /// Which way changes flow in a sync.
    SyncDirection { Bidirectional => "bidirectional" | "esriSyncDirectionBidirectional", Upload => "upload" | "esriSyncDirectionUpload", Download => "download" | "esriSyncDirectionDownload", Snapshot => "snapshot" }
);
wire_enum!(
    /// Whether a result is embedded in the reply or fetched from a URL.
    TransportType { Url => "esriTransportTypeUrl", Embedded => "esriTransportTypeEmbedded" }
);
wire_enum!(
    /// Result format: JSON or a (delta) SQLite geodatabase.
    DataFormat { Json => "json", Sqlite => "sqlite", FileGdb => "filegdb", Shapefile => "shapefile" }
);
wire_enum!(
    /// What a createReplica / synchronizeReplica reply contains.
    ResponseType {
        Data => "esriReplicaResponseTypeData",
        Info => "esriReplicaResponseTypeInfo",
        Edits => "esriReplicaResponseTypeEdits",
        NoEdits => "esriReplicaResponseTypeNoEdits",
        ReplacementData => "esriReplicaResponseTypeReplacementData",
        EditsAndData => "esriReplicaResponseTypeEditsAndData",
    }
);
wire_enum!(
    /// Which rows of a layer a replica takes.
    QueryOption { All => "all", None => "none", UseFilter => "useFilter" | "esriRowsTypeFilter" }
);
wire_enum!(
    /// How attachments sync; fixed at create time.
    AttachmentsSyncDirection { None => "none", Upload => "upload", Bidirectional => "bidirectional" }
);
