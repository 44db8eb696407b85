//! `trustplane admin directory-connections ...`: Active Directory and LDAP sources through the
//! admin API. The bind password is read from standard input, never from the command line.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::args::{DirectoryConnectionsCommand, Output};
use crate::client::{enc, Client};
use crate::output;

const COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "displayName"),
    ("type", "type"),
    ("url", "settings.url"),
    ("lastRun", "status.lastRunDateTime"),
    ("result", "status.lastResult"),
];

/// Largest CA certificate file read.
const MAX_CA_FILE: u64 = 64 * 1024;

pub async fn run(client: &Client, c: DirectoryConnectionsCommand, out: Output) -> Result<()> {
    let path = |id: &str, rest: &str| format!("/api/v1/directoryConnections/{}{rest}", enc(id));
    match c {
        DirectoryConnectionsCommand::List => output::list(
            out,
            &client.list("/api/v1/directoryConnections", false).await?,
            COLUMNS,
        ),
        DirectoryConnectionsCommand::Show { id } => {
            output::one(out, &client.get(&path(&id, "")).await?)
        }
        DirectoryConnectionsCommand::Status { id } => {
            output::one(out, &client.get(&path(&id, "/status")).await?)
        }
        DirectoryConnectionsCommand::Create {
            r#type,
            display_name,
            ldap_url,
            bind_dn,
            bind_password_stdin: _,
            base_dn,
            ca_certificate,
            user_filter,
            group_filter,
            no_start_tls,
            pass_through_authentication,
        } => {
            let password = crate::client::secret_from_stdin("bind password")?;
            let ca = match ca_certificate {
                Some(file) => {
                    let meta = std::fs::metadata(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    if meta.len() > MAX_CA_FILE {
                        bail!("{} is larger than {MAX_CA_FILE} bytes", file.display());
                    }
                    Some(
                        std::fs::read_to_string(&file)
                            .with_context(|| format!("cannot read {}", file.display()))?,
                    )
                }
                None => None,
            };
            let body = json!({
                "type": r#type, "displayName": display_name, "url": ldap_url, "bindDn": bind_dn,
                "bindPassword": password, "baseDn": base_dn, "caCertificate": ca,
                "userFilter": user_filter, "groupFilter": group_filter, "startTls": !no_start_tls,
                "passThroughAuthentication": pass_through_authentication,
            });
            let created = client.post("/api/v1/directoryConnections", &body).await?;
            output::one(out, &created.unwrap_or(Value::Null));
        }
        DirectoryConnectionsCommand::Test { id } => {
            let info = client.post(&path(&id, "/test"), &json!({})).await?;
            output::one(out, &info.unwrap_or(Value::Null));
        }
        DirectoryConnectionsCommand::Sync { id, full, confirm } => {
            let report = client
                .post(
                    &path(&id, "/sync"),
                    &json!({ "full": full, "confirm": confirm }),
                )
                .await?
                .unwrap_or(Value::Null);
            output::one(out, &report);
            match report["result"].as_str() {
                Some("succeeded") => {}
                Some("needsConfirmation") => bail!(
                    "the run stopped for confirmation and changed nothing: {} (run again with --confirm)",
                    report["error"].as_str().unwrap_or_default()
                ),
                _ => bail!(
                    "the run failed and changed nothing: {}",
                    report["error"].as_str().unwrap_or("unknown error")
                ),
            }
        }
        DirectoryConnectionsCommand::Delete { id } => {
            client.delete(&path(&id, "")).await?;
            output::done(
                out,
                "deleted; imported users and groups stay as local objects",
            );
        }
    }
    Ok(())
}
