//! The service browser's engine side: [`Command::DescribeService`] (the service's facts) and
//! [`Command::CountArea`] (each chosen layer's features inside a work area). Each runs as its
//! own task, so the command loop never waits on the network; the client signs in as the
//! service-replicas view does (the signed-in account of the server, else the token given, else
//! a held replica's token).
//!
//! What it must not do: create anything on the service, or write files.

use super::Deps;
use super::api::{CommandId, Event};
use super::error::EngineError;
use crate::model::{Secret, WorkArea};

/// Describes the service and sends [`Event::ServiceDescribed`], or the command's
/// `CommandFailed`.
pub(crate) async fn describe(
    deps: Deps,
    command: Option<CommandId>,
    service_url: String,
    token: Option<Secret>,
) {
    let described = async {
        let (client, _) =
            super::service_replicas::client_and_held(&deps, &service_url, token).await?;
        Ok::<_, EngineError>(client.describe().await?)
    };
    match described.await {
        Ok(facts) => deps.events.send(Event::ServiceDescribed {
            facts: Box::new(facts),
        }),
        Err(e) => super::job::answer_failed(&deps, command, "read the service", &e),
    }
}

/// Counts the layers' features inside `area` and sends [`Event::AreaCounted`], or the
/// command's `CommandFailed`.
pub(crate) async fn count_area(
    deps: Deps,
    command: Option<CommandId>,
    service_url: String,
    token: Option<Secret>,
    area: WorkArea,
    layers: Vec<i64>,
) {
    let counted = async {
        area.validate()
            .map_err(|e| EngineError::Unsupported(e.to_string()))?;
        let (client, _) =
            super::service_replicas::client_and_held(&deps, &service_url, token).await?;
        Ok::<_, EngineError>(client.count_area(&layers, &area).await?)
    };
    match counted.await {
        Ok(counts) => deps.events.send(Event::AreaCounted {
            service_url,
            area,
            counts,
        }),
        Err(e) => super::job::answer_failed(&deps, command, "count the area's features", &e),
    }
}
