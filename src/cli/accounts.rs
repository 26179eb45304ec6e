//! `syncwatch accounts [--json]`: who is signed in where, how, when the tokens expire and which
//! secret store holds the secrets. Reads only the app database's records: no secret is read or
//! printed.

use super::session::{Session, data_dir, print_json, when};
use super::terminal::outln;
use crate::engine::{Account, AccountKind};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct AccountsArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &AccountsArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let session = Session::start(&data_dir(data_dir_flag)?, true)?;
    let accounts = session.block_on(session.handle().accounts());
    let store = session.handle().secret_store();
    session.shutdown();
    let accounts = accounts?;
    if args.json {
        print_json(&serde_json::json!({
            "accounts": accounts,
            "secret_store": store,
        }))?;
        return Ok(super::exit::OK);
    }
    if accounts.is_empty() {
        outln!("not signed in anywhere (sign in with `syncwatch login <url>`)");
    }
    for account in &accounts {
        outln!("{}", account_line(account));
    }
    outln!("new secrets go to {}", store.label());
    Ok(super::exit::OK)
}

fn account_line(account: &Account) -> String {
    let how = match &account.kind {
        AccountKind::GenerateToken if account.remembers_password() => {
            "username and password (remembered)".to_string()
        }
        AccountKind::GenerateToken => "username and password".to_string(),
        AccountKind::OAuth { client_id } => format!("browser (app {client_id})"),
    };
    let refresh = account
        .refresh_expires_ms
        .map(|ms| format!(", refresh token until {}", when(Some(ms))))
        .unwrap_or_default();
    format!(
        "{} — {how}; token until {}{refresh}; secrets in {}",
        account.key,
        when(account.access_expires_ms),
        account.store.label()
    )
}
