//! `syncwatch login <url>`: sign in to the ArcGIS server or portal behind a URL, through the
//! engine's sign-in job ([`Command::SignIn`]), and keep the account for `create` and `sync`.
//! A password comes from `--password-stdin` or a prompt that never echoes (on a terminal);
//! `--browser` prints the authorize URL, tries to open the system browser and waits for the
//! redirect on a loopback listener (`--paste-code`: the portal shows a code to paste here).
//! Exit code 0 when signed in, 4 when the server refused the sign-in (wrong password, unknown
//! user, locked out), 2 for anything else. Never prints a secret.

use super::session::{Session, data_dir};
use super::terminal::{errln, outln};
use crate::engine::{
    Account, Command, CommandId, Event, Secret, SecretStoreKind, SignInFailure, SignInRequest,
};
use anyhow::{Context, bail};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// Any URL of the server or portal: a FeatureServer, `…/arcgis`, a portal, ArcGIS Online.
    pub url: String,
    /// The username (asked for on a terminal when not given).
    #[arg(long)]
    pub username: Option<String>,
    /// Read the password from the first line of standard input (for scripts).
    #[arg(long)]
    pub password_stdin: bool,
    /// Sign in with the browser (OAuth 2.0 with PKCE) instead of a password; needs --client-id.
    #[arg(long)]
    pub browser: bool,
    /// The OAuth app's client id, registered at the portal (by you or your administrator).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// With --browser: the loopback port of the redirect (default: any free port).
    #[arg(long)]
    pub port: Option<u16>,
    /// With --browser: the portal shows a code and you paste it here (no loopback listener).
    #[arg(long)]
    pub paste_code: bool,
    /// With --browser: print the URL only, do not try to open the system browser.
    #[arg(long)]
    pub no_open: bool,
    /// Keep the password (in the secret store only) so tokens are renewed without asking.
    #[arg(long)]
    pub remember: bool,
    /// Minutes the token should last (the server may grant less).
    #[arg(long, value_name = "MINUTES")]
    pub expiration: Option<u32>,
    /// Where the secrets go: the OS keychain (default) or the 0600 file `secrets.json` in the
    /// data folder (for machines without a keychain); the choice is kept for later commands.
    #[arg(long, value_parser = parse_store)]
    pub secret_store: Option<SecretStoreKind>,
}

fn parse_store(text: &str) -> Result<SecretStoreKind, String> {
    SecretStoreKind::parse(text).ok_or_else(|| format!("{text:?}: use keychain or file"))
}

pub fn run(args: &LoginArgs, data_dir_flag: Option<&Path>) -> anyhow::Result<u8> {
    let method = method(args)?;
    let session = Session::start_with_store(&data_dir(data_dir_flag)?, true, args.secret_store)?;
    if let Some(kind) = args.secret_store
        && let Err(e) = session.block_on(session.handle().choose_secret_store(Some(kind)))
    {
        session.shutdown();
        return Err(e).context("could not keep the secret-store choice");
    }
    let ended = sign_in(&session, args, method);
    session.shutdown();
    match ended? {
        Ok(account) => {
            outln!("{}", signed_in_line(&account));
            Ok(super::exit::OK)
        }
        Err((failure, message)) => {
            errln!("syncwatch: sign-in failed: {message}");
            Ok(match failure {
                SignInFailure::Credentials | SignInFailure::LockedOut => {
                    super::exit::SIGN_IN_NEEDED
                }
                _ => super::exit::FAILED,
            })
        }
    }
}

/// What the arguments ask for, with the password read (stdin or the prompt).
fn method(args: &LoginArgs) -> anyhow::Result<SignInRequest> {
    if args.browser {
        let Some(client_id) = args.client_id.clone() else {
            bail!("--browser needs --client-id (the OAuth app registered at the portal)");
        };
        return Ok(if args.paste_code {
            SignInRequest::PastedCode { client_id }
        } else {
            SignInRequest::Browser {
                client_id,
                port: args.port,
            }
        });
    }
    let username = match &args.username {
        Some(u) => u.clone(),
        None if std::io::stdin().is_terminal() && !args.password_stdin => {
            eprint!("Username: ");
            std::io::stderr().flush()?;
            read_line()?
        }
        None => bail!("give --username (or --browser with --client-id)"),
    };
    let password = if args.password_stdin {
        read_line().context("could not read the password from standard input")?
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Password for {username}: "))
            .context("could not read the password")?
    } else {
        bail!("no terminal to ask for the password: use --password-stdin");
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    Ok(SignInRequest::Password {
        username,
        password: Secret::from(password),
        remember: args.remember,
    })
}

fn read_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

type Ended = Result<Account, (SignInFailure, String)>;

/// Sends the sign-in and follows it to its end, playing the browser part on the terminal.
fn sign_in(session: &Session, args: &LoginArgs, method: SignInRequest) -> anyhow::Result<Ended> {
    let id = session.submit(Command::SignIn {
        url: args.url.clone(),
        method,
        expiration_minutes: args.expiration,
    })?;
    loop {
        let step = session.wait_for(|e| step_of(e, id))?;
        match step {
            Step::Browser { url, oob } => {
                errln!("Open this address in your browser to sign in:");
                errln!("{url}");
                if !args.no_open && webbrowser::open(&url).is_err() {
                    errln!("(could not open a browser here; open the address yourself)");
                }
                if oob {
                    eprint!("Paste the code the portal shows: ");
                    std::io::stderr().flush()?;
                    let code = read_line()?;
                    session.send(Command::SubmitSignInCode {
                        sign_in: id,
                        code: Secret::from(code.trim().to_string()),
                    })?;
                } else {
                    errln!("Waiting for the browser…");
                }
            }
            Step::Ended(ended) => return Ok(ended),
        }
    }
}

enum Step {
    Browser { url: String, oob: bool },
    Ended(Ended),
}

fn step_of(event: &Event, id: CommandId) -> Option<Step> {
    match event {
        Event::BrowserSignInStarted {
            sign_in,
            authorize_url,
            oob,
        } if *sign_in == id => Some(Step::Browser {
            url: authorize_url.clone(),
            oob: *oob,
        }),
        Event::SignedIn { sign_in, account } if *sign_in == id => {
            Some(Step::Ended(Ok(account.clone())))
        }
        Event::SignInFailed {
            sign_in,
            failure,
            message,
        } if *sign_in == id => Some(Step::Ended(Err((*failure, message.clone())))),
        Event::CommandFailed {
            error,
            command: Some(command),
            ..
        } if *command == id => Some(Step::Ended(Err((
            SignInFailure::Other,
            error.message.clone(),
        )))),
        _ => None,
    }
}

fn signed_in_line(account: &Account) -> String {
    let until = account
        .refresh_expires_ms
        .or(account.access_expires_ms)
        .map(|ms| format!(", signed in until {}", super::session::when(Some(ms))))
        .unwrap_or_default();
    let renews = if account.remembers_password() {
        " (password remembered: tokens are renewed without asking)"
    } else {
        ""
    };
    format!(
        "signed in as {}{until}; secrets in {}{renews}",
        account.key,
        account.store.label()
    )
}
