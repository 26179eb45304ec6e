//! `syncwatch logout <url>`: sign out of the account at a server or portal (the URL signed in
//! to, or any URL under its root, as `syncwatch accounts` lists it): its secrets and record are
//! forgotten; replicas that used it need a sign-in at their next sync.

use super::session::{Session, data_dir};
use super::terminal::outln;
use crate::engine::{Account, Command, Event};
use anyhow::bail;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// The server or portal (or any URL under it).
    pub url: String,
    /// Which user, when several are signed in there.
    #[arg(long)]
    pub username: Option<String>,
}

/// The accounts whose root `url` is, or is under.
pub(super) fn accounts_at<'a>(accounts: &'a [Account], url: &str) -> Vec<&'a Account> {
    let url = url.trim().trim_end_matches('/');
    accounts
        .iter()
        .filter(|a| {
            url == a.key.root_url
                || url
                    .strip_prefix(&a.key.root_url)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .collect()
}

pub fn run(args: &LogoutArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let session = Session::start(&data_dir(data_dir_flag)?, true)?;
    let outcome = logout(&session, args);
    session.shutdown();
    outcome
}

fn logout(session: &Session, args: &LogoutArgs) -> anyhow::Result<u8> {
    let accounts = session.block_on(session.handle().accounts())?;
    let matching: Vec<_> = accounts_at(&accounts, &args.url)
        .into_iter()
        .filter(|a| args.username.as_ref().is_none_or(|u| *u == a.key.username))
        .collect();
    let account = match matching.as_slice() {
        [] => bail!("not signed in at {} (see `syncwatch accounts`)", args.url),
        [one] => (*one).clone(),
        _ => bail!(
            "several accounts are signed in at {}; choose one with --username",
            args.url
        ),
    };
    let key = account.key.clone();
    session.send(Command::SignOut {
        account: key.clone(),
    })?;
    session.wait_for(|e| match e {
        Event::SignedOut { account } if *account == key => Some(()),
        _ => None,
    })?;
    outln!("signed out: {key}");
    Ok(super::exit::OK)
}
