//! [`CreateAttempt`]: the name one createReplica registers its replica under on the service.
//! createReplica is not idempotent and ArcGIS lets no client choose the replicaID, so a request
//! whose reply was lost leaves a replica the client cannot name by id. Each attempt therefore
//! sends the technician's name with a tag of its own (`Hydrants (syncwatch 3f9a1c0e52d4)`), and
//! the only replicas a clean-up may ever remove are the ones carrying that exact name: another
//! laptop's "Hydrants" (even the same user's, which the service lets them unregister) never
//! matches. The service's replica list shows an administrator the technician's name, that
//! syncwatch made it and which attempt; syncwatch itself shows the technician's name only.
//! Plain data: no I/O.

/// One createReplica attempt: the technician's name and the tag only this attempt uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAttempt {
    name: String,
    tag: String,
}

/// The hex digits of a tag (48 random bits: unique among one user's replicas of one name).
const TAG_LEN: usize = 12;

impl CreateAttempt {
    /// A new attempt for `name`, with a random tag.
    pub fn new(name: &str) -> CreateAttempt {
        let random = uuid::Uuid::new_v4().simple().to_string();
        CreateAttempt {
            name: name.to_string(),
            tag: random[..TAG_LEN].to_string(),
        }
    }

    /// The attempt a service name was made by, read back from a record (`None` if the text is
    /// not one of ours).
    pub fn from_service_name(service_name: &str) -> Option<CreateAttempt> {
        let open = service_name.rfind(" (syncwatch ")?;
        let tag = service_name[open + " (syncwatch ".len()..].strip_suffix(')')?;
        let is_tag = tag.len() == TAG_LEN && tag.bytes().all(|b| b.is_ascii_hexdigit());
        is_tag.then(|| CreateAttempt {
            name: service_name[..open].to_string(),
            tag: tag.to_string(),
        })
    }

    /// The technician's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `replicaName` this attempt sends, and the only name its clean-up matches.
    pub fn service_name(&self) -> String {
        format!("{} (syncwatch {})", self.name, self.tag)
    }

    /// Whether a replica listed on the service under `replica_name` was made by this attempt.
    pub fn made(&self, replica_name: &str) -> bool {
        replica_name == self.service_name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_attempt_has_its_own_name_and_matches_only_that() {
        let a = CreateAttempt::new("Hydrants");
        let b = CreateAttempt::new("Hydrants");
        assert_ne!(a.service_name(), b.service_name());
        assert!(a.service_name().starts_with("Hydrants (syncwatch "));
        assert!(a.made(&a.service_name()));
        assert!(!a.made(&b.service_name()));
        assert!(
            !a.made("Hydrants"),
            "the bare name of another laptop never matches"
        );
        assert_eq!(
            CreateAttempt::from_service_name(&a.service_name()),
            Some(a.clone())
        );
        let odd = CreateAttempt::new("x (syncwatch 0) (y)");
        assert_eq!(
            CreateAttempt::from_service_name(&odd.service_name()),
            Some(odd)
        );
        for not_ours in [
            "Hydrants",
            "Hydrants (syncwatch zz)",
            "Hydrants (syncwatch 0123456789ab",
        ] {
            assert_eq!(
                CreateAttempt::from_service_name(not_ours),
                None,
                "{not_ours}"
            );
        }
    }
}
