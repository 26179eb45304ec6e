//! The "New replica" wizard's state, as plain data (no egui): the step it is on, the URL and
//! token, the service's facts once the engine sent them, the layers ticked, the options the
//! service's `syncCapabilities` allow, the work area being typed and the counts inside it, and
//! the name. Owns the checks before each step and the [`CreateRequest`] it ends in.
//!
//! What it must not do: draw, or send anything; the app turns [`WizardAction`]s into commands.

use crate::engine::{CommandId, CreateRequest, CreateScope, Event};
use crate::model::{Account, Extent, ServiceFacts, WorkArea};
use crate::protocol::SyncModel;
use std::collections::BTreeSet;

/// The signed-in account the engine will use for `service_url`, as far as the window can tell:
/// the account whose root the URL is under (the longest such root), else one on the same
/// origin (a portal federating the server on that host). The engine makes the final choice.
pub fn account_for<'a>(service_url: &str, accounts: &'a [Account]) -> Option<&'a Account> {
    let url = service_url.trim().to_ascii_lowercase();
    let under = accounts
        .iter()
        .filter(|a| {
            let root = a.key.root_url.to_ascii_lowercase();
            url == root || url.starts_with(&format!("{root}/"))
        })
        .max_by_key(|a| a.key.root_url.len());
    under.or_else(|| {
        let origin = url::Url::parse(&url).ok()?.origin();
        accounts.iter().find(|a| {
            url::Url::parse(&a.key.root_url.to_ascii_lowercase())
                .is_ok_and(|root| root.origin() == origin)
        })
    })
}

/// The wizard's pages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WizardStep {
    /// The FeatureServer URL and the account (or token) used.
    Url,
    /// The service's facts; layers ticked by name; the options it allows.
    Service,
    /// Whole service or a typed extent, with the features inside.
    Area,
    /// The replica's name (suggested), then create.
    Name,
}

/// How the work area is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaChoice {
    WholeService,
    Extent,
}

/// What the wizard asks the app for this frame.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum WizardAction {
    None,
    Cancel,
    /// Open the Sign in dialog for this URL (the wizard stays open behind it).
    SignIn {
        url: String,
    },
    /// Read the service's facts (`Command::DescribeService`).
    Describe {
        url: String,
        token: Option<String>,
    },
    /// Count the ticked layers' features inside the area (`Command::CountArea`).
    Count {
        area: WorkArea,
        layers: Vec<i64>,
    },
    Create(CreateRequest),
}

/// The wizard's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Wizard {
    pub step: WizardStep,
    pub service_url: String,
    pub token: String,
    pub facts: Option<ServiceFacts>,
    pub layers: BTreeSet<i64>,
    pub sync_model: SyncModel,
    pub is_async: bool,
    pub attachments: bool,
    pub area_choice: AreaChoice,
    /// The typed extent: xmin, ymin, xmax, ymax, and the wkid (empty: the service's).
    pub extent: [String; 4],
    pub wkid: String,
    /// The area last sent to be counted, and the counts that came back for it.
    pub counting: Option<WorkArea>,
    pub counts: Option<(WorkArea, Vec<(i64, i64)>)>,
    pub name: String,
    /// Whether the name was typed (then it is not replaced by the suggestion).
    pub name_typed: bool,
    /// The command whose answer is awaited (describe or count), to match its failure.
    pub command: Option<CommandId>,
    pub busy: bool,
    pub error: Option<String>,
}

impl Wizard {
    pub fn new(service_url: &str) -> Self {
        Wizard {
            step: WizardStep::Url,
            service_url: service_url.to_owned(),
            token: String::new(),
            facts: None,
            layers: BTreeSet::new(),
            sync_model: SyncModel::PerReplica,
            is_async: true,
            attachments: true,
            area_choice: AreaChoice::WholeService,
            extent: Default::default(),
            wkid: String::new(),
            counting: None,
            counts: None,
            name: String::new(),
            name_typed: false,
            command: None,
            busy: false,
            error: None,
        }
    }

    /// The URL, checked to be an http(s) FeatureServer URL.
    pub fn checked_url(&self) -> Result<String, String> {
        let url = self.service_url.trim().trim_end_matches('/');
        let parsed = url::Url::parse(url).map_err(|e| format!("Not a URL ({e}): {url}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("Use an http or https URL: {url}"));
        }
        if !url.to_ascii_lowercase().ends_with("/featureserver") {
            return Err(format!(
                "Give the FeatureServer URL, ending in /FeatureServer: {url}"
            ));
        }
        Ok(url.to_owned())
    }

    fn token(&self) -> Option<String> {
        let t = self.token.trim();
        (!t.is_empty()).then(|| t.to_owned())
    }

    /// "Next" on the URL page: ask for the service's facts.
    pub fn describe(&mut self) -> WizardAction {
        match self.checked_url() {
            Ok(url) => {
                self.error = None;
                WizardAction::Describe {
                    url,
                    token: self.token(),
                }
            }
            Err(e) => {
                self.error = Some(e);
                WizardAction::None
            }
        }
    }

    /// The typed work area, checked on its own and against the service.
    pub fn area(&self) -> Result<WorkArea, String> {
        if self.area_choice == AreaChoice::WholeService {
            return Ok(WorkArea::WholeService);
        }
        let mut numbers = [0.0; 4];
        let names = ["xmin", "ymin", "xmax", "ymax"];
        for ((slot, text), name) in numbers.iter_mut().zip(&self.extent).zip(names) {
            *slot = text
                .trim()
                .parse()
                .map_err(|_| format!("Give {name} as a number."))?;
        }
        let wkid = match self.wkid.trim() {
            "" => None,
            w => Some(
                w.parse::<i64>()
                    .map_err(|_| format!("The wkid is a whole number: {w:?}"))?,
            ),
        };
        let [xmin, ymin, xmax, ymax] = numbers;
        let area =
            WorkArea::Extent(Extent::new(xmin, ymin, xmax, ymax, wkid).map_err(|e| e.to_string())?);
        if let Some(facts) = &self.facts {
            facts.check_area(&area).map_err(|e| e.to_string())?;
        }
        Ok(area)
    }

    /// Fills the extent fields (from a drawn rectangle or the service's full extent).
    pub fn set_extent(&mut self, extent: &Extent) {
        self.area_choice = AreaChoice::Extent;
        self.extent = [extent.xmin, extent.ymin, extent.xmax, extent.ymax].map(|v| format!("{v}"));
        self.wkid = extent.wkid.map(|w| w.to_string()).unwrap_or_default();
    }

    /// A count to ask for when the area changed to a valid one not counted yet.
    pub fn count_if_changed(&mut self) -> WizardAction {
        let Ok(area) = self.area() else {
            return WizardAction::None;
        };
        if area.is_whole_service() || self.counting.as_ref() == Some(&area) {
            return WizardAction::None;
        }
        self.counting = Some(area.clone());
        WizardAction::Count {
            area,
            layers: self.layers.iter().copied().collect(),
        }
    }

    /// Each ticked layer's count inside the current area: `(name, count)`, `None` while unknown.
    pub fn area_counts(&self) -> Vec<(String, Option<i64>)> {
        let Some(facts) = &self.facts else {
            return Vec::new();
        };
        let area = self.area().ok();
        facts
            .layers
            .iter()
            .filter(|l| self.layers.contains(&l.id))
            .map(|l| {
                let count = match &area {
                    Some(WorkArea::WholeService) => l.feature_count,
                    Some(a) => self
                        .counts
                        .as_ref()
                        .filter(|(counted, _)| counted == a)
                        .and_then(|(_, c)| c.iter().find(|(id, _)| *id == l.id))
                        .map(|(_, n)| *n),
                    None => None,
                };
                (l.name.clone(), count)
            })
            .collect()
    }

    /// "Next" from the current page; the checks of that page first.
    pub fn next(&mut self) {
        self.error = None;
        match self.step {
            WizardStep::Url => {}
            WizardStep::Service => {
                if self.layers.is_empty() {
                    self.error = Some("Tick at least one layer.".into());
                } else {
                    self.step = WizardStep::Area;
                }
            }
            WizardStep::Area => match self.area() {
                Ok(area) => {
                    if !self.name_typed
                        && let Some(facts) = &self.facts
                    {
                        self.name = facts.suggested_name(&area);
                    }
                    self.step = WizardStep::Name;
                }
                Err(e) => self.error = Some(e),
            },
            WizardStep::Name => {}
        }
    }

    /// "Back" to the previous page.
    pub fn back(&mut self) {
        self.error = None;
        self.step = match self.step {
            WizardStep::Url | WizardStep::Service => WizardStep::Url,
            WizardStep::Area => WizardStep::Service,
            WizardStep::Name => WizardStep::Area,
        };
    }

    /// The request the wizard ends in.
    pub fn request(&self) -> Result<CreateRequest, String> {
        let url = self.checked_url()?;
        let name = self.name.trim();
        if name.is_empty() {
            return Err("Give the replica a name.".to_owned());
        }
        if self.layers.is_empty() {
            return Err("Tick at least one layer.".into());
        }
        let area = self.area()?;
        let caps = self.facts.as_ref().map(|f| &f.sync_capabilities);
        let sync_model = match (self.sync_model, caps) {
            (SyncModel::PerLayer, Some(c)) if !c.supports_per_layer_sync => SyncModel::PerReplica,
            (model, _) => model,
        };
        Ok(CreateRequest {
            service_url: url,
            token: self.token().map(Into::into),
            name: name.to_owned(),
            layers: self.layers.iter().copied().collect(),
            sync_model,
            is_async: self.is_async && caps.is_none_or(|c| c.supports_async),
            scope: Box::new(CreateScope {
                area,
                attachments: self.attachments,
                ..Default::default()
            }),
        })
    }

    /// Takes the engine's answers: the facts (to the service page), the counts, a failure of
    /// the awaited command.
    pub fn follow(&mut self, event: &Event) {
        match event {
            Event::ServiceDescribed { facts } => {
                let ours = self
                    .checked_url()
                    .is_ok_and(|u| u.eq_ignore_ascii_case(&facts.service_url));
                if !ours || !self.busy {
                    return;
                }
                self.busy = false;
                self.layers
                    .retain(|id| facts.layers.iter().any(|l| l.id == *id));
                if !facts.sync_capabilities.supports_async {
                    self.is_async = false;
                }
                self.facts = Some(facts.as_ref().clone());
                self.step = WizardStep::Service;
            }
            Event::AreaCounted { area, counts, .. } if self.counting.as_ref() == Some(area) => {
                self.counts = Some((area.clone(), counts.clone()));
            }
            Event::CommandFailed {
                error,
                command: Some(c),
                ..
            } if Some(*c) == self.command => {
                self.busy = false;
                self.error = Some(error.message.clone());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LayerFacts;

    fn facts() -> ServiceFacts {
        ServiceFacts {
            service_url: "http://h/arcgis/rest/services/Water/FeatureServer".into(),
            name: "Water".into(),
            description: String::new(),
            wkid: Some(4326),
            full_extent: Some(Extent::parse("0,0,10,10,4326").unwrap()),
            sync_enabled: true,
            sync_capabilities: Default::default(),
            layers: vec![LayerFacts {
                id: 0,
                name: "Hydrants".into(),
                is_table: false,
                geometry_type: Some("esriGeometryPoint".into()),
                feature_count: Some(7),
                has_attachments: false,
                sync_enabled: true,
            }],
        }
    }

    #[test]
    fn the_wizard_walks_to_a_request() {
        let mut w = Wizard::new("http://h/arcgis/rest/services/Water/FeatureServer/");
        assert!(matches!(w.describe(), WizardAction::Describe { .. }));
        w.busy = true;
        w.follow(&Event::ServiceDescribed {
            facts: Box::new(facts()),
        });
        assert_eq!(w.step, WizardStep::Service);
        w.next();
        assert!(w.error.is_some(), "no layer ticked");
        w.layers.insert(0);
        w.next();
        assert_eq!(w.step, WizardStep::Area);
        assert_eq!(w.area_counts(), vec![("Hydrants".into(), Some(7))]);
        w.area_choice = AreaChoice::Extent;
        w.extent = ["2", "2", "1", "3"].map(String::from);
        w.next();
        assert!(w.error.as_deref().unwrap_or("").contains("inverted"));
        w.extent = ["20", "20", "30", "30"].map(String::from);
        assert!(w.area().unwrap_err().contains("outside"));
        w.extent = ["1", "1", "2", "2"].map(String::from);
        let WizardAction::Count { area, layers } = w.count_if_changed() else {
            panic!("a count")
        };
        assert_eq!(layers, vec![0]);
        assert_eq!(w.count_if_changed(), WizardAction::None, "counted once");
        w.follow(&Event::AreaCounted {
            service_url: String::new(),
            area,
            counts: vec![(0, 3)],
        });
        assert_eq!(w.area_counts(), vec![("Hydrants".into(), Some(3))]);
        w.next();
        assert_eq!(w.step, WizardStep::Name);
        assert_eq!(w.name, "Water-area");
        let request = w.request().unwrap();
        assert_eq!(request.layers, vec![0]);
        assert!(!request.is_async, "the service does not allow async");
        assert!(!request.scope.area.is_whole_service());
    }

    /// The account under whose root the service lies is chosen, the longest root first, then
    /// one on the same origin; another host's account never.
    #[test]
    fn account_for_a_service_url() {
        use crate::model::{AccountKey, AccountKind, AccountSecrets, SecretStoreKind};
        let account = |root: &str, user: &str| {
            Account::describe(
                AccountKey::new(root, user),
                AccountKind::GenerateToken,
                SecretStoreKind::File,
                &AccountSecrets::default(),
                0,
            )
        };
        let accounts = [
            account("https://gis.example.com/portal", "portal-user"),
            account("https://gis.example.com/arcgis", "server-user"),
            account("https://other.example.com/arcgis", "other"),
        ];
        let user = |url: &str| account_for(url, &accounts).map(|a| a.key.username.as_str());
        let service = "https://gis.example.com/arcgis/rest/services/Water/FeatureServer";
        assert_eq!(user(service), Some("server-user"));
        assert_eq!(
            user("https://gis.example.com/hosted/rest/services/X/FeatureServer"),
            Some("portal-user")
        );
        assert_eq!(user("https://third.example.com/arcgis/rest/services"), None);
        assert_eq!(
            user("https://gis.example.com/arcgisx/rest"),
            Some("portal-user")
        );
    }
}
