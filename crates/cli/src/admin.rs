//! `trustplane admin ...`: the directory through the admin API.

use std::io::BufRead;

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

use crate::args::{
    AdminArgs, AdminAuditCommand, AdminCommand, AlertsCommand, AssignmentsCommand, GroupsCommand,
    ListArgs, Output, UsersCommand,
};
use crate::client::{enc, profile_path, Client, Profile};
use crate::names::{principal_id, user_id};
use crate::output;

const USER_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("userPrincipalName", "userPrincipalName"),
    ("displayName", "displayName"),
    ("mail", "mail"),
    ("accountEnabled", "accountEnabled"),
];
const GROUP_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("displayName", "displayName"),
    ("isAssignableToRole", "isAssignableToRole"),
    ("description", "description"),
];
const MEMBER_COLUMNS: &[(&str, &str)] = &[
    ("type", "@odata.type"),
    ("id", "id"),
    ("displayName", "displayName"),
    ("userPrincipalName", "userPrincipalName"),
];
const ASSIGNMENT_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("principal", "principalName"),
    ("principalType", "principalType"),
    ("role", "roleName"),
    ("scope", "directoryScopeId"),
    ("end", "endDateTime"),
];
const METHOD_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("kind", "kind"),
    ("displayName", "displayName"),
    ("created", "createdDateTime"),
    ("lastUsed", "lastUsedDateTime"),
    ("used", "used"),
];
const SESSION_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("created", "createdDateTime"),
    ("lastSeen", "lastSeenDateTime"),
    ("amr", "amr"),
    ("ip", "ipAddress"),
    ("client", "clientApp"),
];
const TIMELINE_COLUMNS: &[(&str, &str)] = &[
    ("time", "time"),
    ("source", "source"),
    ("category", "category"),
    ("activity", "activity"),
    ("result", "result"),
    ("ip", "ipAddress"),
    ("summary", "summary"),
];
const SIGN_IN_COLUMNS: &[(&str, &str)] = &[
    ("time", "activityDateTime"),
    ("user", "after.userPrincipalName"),
    ("result", "result"),
    ("reason", "resultReason"),
    ("client", "after.clientAppUsed"),
    ("ip", "after.ipAddress"),
    ("methods", "after.authenticationMethodsUsed"),
];
const ALERT_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("lastSeen", "lastSeen"),
    ("level", "level"),
    ("rule", "ruleTitle"),
    // The Detection Rule License asks that a rule's author be credited with its matches.
    ("author", "ruleAuthor"),
    ("person", "personUpn"),
    ("hits", "hits"),
    ("status", "status"),
];
const FINDING_COLUMNS: &[(&str, &str)] = &[
    ("state", "state"),
    ("severity", "severity"),
    ("check", "check_id"),
    ("account", "resource.account"),
    ("resource", "resource.id"),
    ("firstSeen", "firstSeen"),
    ("lastSeen", "lastSeen"),
    ("resolved", "resolvedAt"),
];
const AUDIT_COLUMNS: &[(&str, &str)] = &[
    ("seq", "sequence"),
    ("time", "activityDateTime"),
    ("activity", "activity"),
    ("actor", "initiatedBy.displayName"),
    ("target", "target.displayName"),
    ("result", "result"),
];

pub async fn run(args: AdminArgs, out: Output) -> Result<i32> {
    if let AdminCommand::Login = args.command {
        return login(&args, out).await;
    }
    if let AdminCommand::Recover {
        upn,
        data_dir,
        database_url,
        master_key_file,
    } = &args.command
    {
        return recover(
            upn,
            data_dir.as_deref(),
            database_url.as_deref(),
            master_key_file.as_deref(),
            out,
        )
        .await;
    }
    let client = Client::new(&args.api)?;
    match args.command {
        AdminCommand::Login | AdminCommand::Recover { .. } => {}
        AdminCommand::Whoami => output::one(out, &client.get("/api/v1/me").await?),
        AdminCommand::Users(c) => users(&client, c, out).await?,
        AdminCommand::Groups(c) => groups(&client, c, out).await?,
        AdminCommand::Applications(c) => crate::apps::apps(&client, c, out).await?,
        AdminCommand::Roles(c) => crate::roles::roles(&client, c, out).await?,
        AdminCommand::Keys(c) => crate::roles::keys(&client, c, out).await?,
        AdminCommand::Tokens(c) => crate::tokens::tokens(&client, c, out).await?,
        AdminCommand::Provisioning(c) => crate::provisioning::provisioning(&client, c, out).await?,
        AdminCommand::Assignments(c) => assignments(&client, c, out).await?,
        AdminCommand::Audit(c) => audit(&client, c, out).await?,
        AdminCommand::Alerts(c) => alerts(&client, c, out).await?,
        AdminCommand::RiskyUsers(c) => crate::risk::risky_users(&client, c, out).await?,
        AdminCommand::Incidents(c) => crate::incidents::run(&client, c, out).await?,
        AdminCommand::Findings {
            status,
            account,
            check,
        } => {
            let mut path = "/api/v1/posture/findings?$top=500".to_string();
            for (k, v) in [("status", status), ("account", account), ("check", check)] {
                if let Some(v) = v {
                    path.push_str(&format!("&{k}={}", enc(&v)));
                }
            }
            output::list(out, &client.list(&path, false).await?, FINDING_COLUMNS);
        }
        AdminCommand::UploadScan { dir } => {
            let inventory = trustplane_posture::Inventory::load_dir(&dir)
                .with_context(|| format!("cannot read the inventory in {}", dir.display()))?;
            let body = serde_json::to_vec(inventory.docs())?;
            output::one(
                out,
                &client.post_bytes("/api/v1/posture/scans", body).await?,
            );
        }
        AdminCommand::Discovery(c) => crate::discover::admin(&client, c, out).await?,
        AdminCommand::Accounts(c) => crate::cloud::accounts(&client, c, out).await?,
        AdminCommand::LogSources(c) => crate::cloud::log_sources(&client, c, out).await?,
        AdminCommand::DirectoryConnections(c) => {
            crate::directory_connections::run(&client, c, out).await?
        }
        AdminCommand::IdentityProviders(c) => {
            crate::identity_providers::run(&client, c, out).await?
        }
        AdminCommand::Signins { user, from, top } => {
            let mut path = format!("/api/v1/auditLogs/signIns?$top={top}");
            if let Some(u) = user {
                let id = user_id(&client, &u).await?;
                path.push_str(&format!("&actor={}", enc(&id)));
            }
            if let Some(f) = from {
                path.push_str(&format!("&from={}", enc(&f)));
            }
            let items = client.list(&path, false).await?;
            output::list(out, &items, SIGN_IN_COLUMNS);
        }
    }
    Ok(0)
}

async fn login(args: &AdminArgs, out: Output) -> Result<i32> {
    let (Some(url), Some(token)) = (&args.api.url, &args.api.token) else {
        bail!("login needs --url and --token");
    };
    // Nothing is saved that does not work: the URL must answer and take the token.
    let me = Client::new(&args.api)?
        .get("/api/v1/me")
        .await
        .with_context(|| format!("not saved: {url} with this token did not work"))?;
    let upn = me["user"]["userPrincipalName"]
        .as_str()
        .unwrap_or("(unknown)")
        .to_string();
    let path = profile_path(&args.api).context("no profile path: set --profile or HOME")?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let profile = Profile {
        url: Some(url.clone()),
        token: Some(token.clone()),
    };
    let text = format!(
        "url = {}\ntoken = {}\n",
        Value::String(profile.url.unwrap_or_default()),
        Value::String(profile.token.unwrap_or_default())
    );
    write_private(&path, &text)?;
    output::done(
        out,
        &format!("signed in as {upn}; saved to {}", path.display()),
    );
    Ok(0)
}

/// Writes a file readable by its owner only: it holds a token.
fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

fn list_path(base: &str, l: &ListArgs) -> String {
    let mut path = format!("{base}?$top={}", l.top);
    if let Some(f) = &l.filter {
        path.push_str(&format!("&$filter={}", enc(f)));
    }
    path
}

fn attributes(pairs: Vec<(String, String)>) -> Map<String, Value> {
    pairs
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

async fn users(client: &Client, c: UsersCommand, out: Output) -> Result<()> {
    match c {
        UsersCommand::List(l) => {
            let items = client.list(&list_path("/api/v1/users", &l), l.all).await?;
            output::list(out, &items, USER_COLUMNS);
        }
        UsersCommand::Get { id } => output::one(
            out,
            &client.get(&format!("/api/v1/users/{}", enc(&id))).await?,
        ),
        UsersCommand::Create {
            upn,
            display_name,
            mail,
            given_name,
            surname,
            disabled,
            password_stdin,
            attributes: attrs,
        } => {
            let mut body = json!({
                "userPrincipalName": upn,
                "displayName": display_name,
                "accountEnabled": !disabled,
                "attributes": attributes(attrs),
            });
            for (k, v) in [
                ("mail", mail),
                ("givenName", given_name),
                ("surname", surname),
            ] {
                if let Some(v) = v {
                    body[k] = Value::String(v);
                }
            }
            if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                body["passwordProfile"] = json!({
                    "password": line.trim_end_matches(['\r', '\n']),
                    "forceChangePasswordNextSignIn": true
                });
            }
            let user = client
                .post("/api/v1/users", &body)
                .await?
                .unwrap_or(Value::Null);
            output::one(out, &user);
        }
        UsersCommand::Update {
            id,
            display_name,
            upn,
            mail,
            enable,
            disable,
            attributes: attrs,
        } => {
            let mut body = json!({});
            if let Some(v) = display_name {
                body["displayName"] = Value::String(v);
            }
            if let Some(v) = upn {
                body["userPrincipalName"] = Value::String(v);
            }
            if let Some(v) = mail {
                body["mail"] = Value::String(v);
            }
            if enable || disable {
                body["accountEnabled"] = Value::Bool(enable);
            }
            if !attrs.is_empty() {
                body["attributes"] = Value::Object(attributes(attrs));
            }
            output::one(
                out,
                &client
                    .patch(&format!("/api/v1/users/{}", enc(&id)), &body)
                    .await?,
            );
        }
        UsersCommand::Delete { id } => {
            client
                .delete(&format!("/api/v1/users/{}", enc(&id)))
                .await?;
            output::done(out, &format!("deleted user {id}"));
        }
        UsersCommand::SetPassword {
            id,
            password_stdin,
            generate,
            permanent,
        } => {
            let password = if generate {
                trustplane_server::random_secret(15)?
            } else {
                debug_assert!(password_stdin);
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_string()
            };
            let body = json!({"passwordProfile": {
                "password": password,
                "forceChangePasswordNextSignIn": !permanent,
            }});
            let user = client
                .patch(&format!("/api/v1/users/{}", enc(&id)), &body)
                .await?;
            let upn = user["userPrincipalName"]
                .as_str()
                .unwrap_or(&id)
                .to_string();
            match (out, generate) {
                (Output::Json, _) => output::one(
                    out,
                    &json!({
                        "userPrincipalName": upn,
                        "password": generate.then_some(password),
                        "forceChangePasswordNextSignIn": !permanent,
                    }),
                ),
                (Output::Table, true) => {
                    println!("password for {upn} (shown once): {password}");
                    if !permanent {
                        println!("{upn} must change it at the next sign-in");
                    }
                }
                (Output::Table, false) => output::done(out, &format!("password set for {upn}")),
            }
        }
        UsersCommand::Tap {
            id,
            lifetime_minutes,
            reusable,
            start,
        } => {
            let mut body = json!({
                "lifetimeInMinutes": lifetime_minutes,
                "isUsableOnce": !reusable,
            });
            if let Some(start) = start {
                body["startDateTime"] = Value::String(start);
            }
            let pass = client
                .post(
                    &format!(
                        "/api/v1/users/{}/authentication/temporaryAccessPassMethods",
                        enc(&id)
                    ),
                    &body,
                )
                .await?
                .unwrap_or(Value::Null);
            match out {
                Output::Json => output::one(out, &pass),
                Output::Table => {
                    println!(
                        "temporary access pass for {} (shown once): {}",
                        pass["userPrincipalName"].as_str().unwrap_or(&id),
                        pass["temporaryAccessPass"].as_str().unwrap_or_default()
                    );
                    println!(
                        "valid from {} for {} minutes, {}",
                        pass["startDateTime"].as_str().unwrap_or_default(),
                        pass["lifetimeInMinutes"],
                        if pass["isUsableOnce"] == Value::Bool(true) {
                            "once"
                        } else {
                            "any number of times"
                        }
                    );
                }
            }
        }
        UsersCommand::Methods { id } => {
            let items = client
                .list(
                    &format!("/api/v1/users/{}/authenticationMethods", enc(&id)),
                    false,
                )
                .await?;
            output::list(out, &items, METHOD_COLUMNS);
        }
        UsersCommand::RemoveMethod { id, method_id } => {
            client
                .delete(&format!(
                    "/api/v1/users/{}/authenticationMethods/{}",
                    enc(&id),
                    enc(&method_id)
                ))
                .await?;
            output::done(out, &format!("removed method {method_id}"));
        }
        UsersCommand::Sessions { id } => {
            let items = client
                .list(&format!("/api/v1/users/{}/sessions", enc(&id)), false)
                .await?;
            output::list(out, &items, SESSION_COLUMNS);
        }
        UsersCommand::RevokeSessions { id } => {
            let r = client
                .post(
                    &format!("/api/v1/users/{}/revokeSignInSessions", enc(&id)),
                    &json!({}),
                )
                .await?;
            let n = r
                .as_ref()
                .and_then(|v| v.get("sessionsEnded"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            output::done(out, &format!("ended {n} sessions"));
        }
        UsersCommand::Unlock { id } => {
            client
                .post(
                    &format!("/api/v1/users/{}/resetSignInFailures", enc(&id)),
                    &json!({}),
                )
                .await?;
            output::done(out, &format!("unlocked {id}"));
        }
        UsersCommand::Timeline {
            id,
            from,
            to,
            source,
            category,
            top,
            all,
            export,
        } => {
            let mut path = format!("/api/v1/users/{}/timeline?top={top}", enc(&id));
            for (name, value) in [
                ("from", from),
                ("to", to),
                ("source", (!source.is_empty()).then(|| source.join(","))),
                (
                    "category",
                    (!category.is_empty()).then(|| category.join(",")),
                ),
                ("format", export.clone()),
            ] {
                if let Some(v) = value {
                    path.push_str(&format!("&{name}={}", enc(&v)));
                }
            }
            if export.is_some() {
                let mut stdout = std::io::stdout().lock();
                client.get_to(&path, &mut stdout).await?;
                return Ok(());
            }
            let items = client.list(&path, all).await?;
            output::list(out, &items, TIMELINE_COLUMNS);
        }
        UsersCommand::Groups { id, transitive } => {
            let nav = if transitive {
                "transitiveMemberOf"
            } else {
                "memberOf"
            };
            let items = client
                .list(&format!("/api/v1/users/{}/{nav}", enc(&id)), false)
                .await?;
            output::list(out, &items, GROUP_COLUMNS);
        }
    }
    Ok(())
}

async fn groups(client: &Client, c: GroupsCommand, out: Output) -> Result<()> {
    match c {
        GroupsCommand::List(l) => {
            let items = client.list(&list_path("/api/v1/groups", &l), l.all).await?;
            output::list(out, &items, GROUP_COLUMNS);
        }
        GroupsCommand::Get { id } => output::one(
            out,
            &client.get(&format!("/api/v1/groups/{}", enc(&id))).await?,
        ),
        GroupsCommand::Create {
            display_name,
            description,
            role_assignable,
        } => {
            let body = json!({
                "displayName": display_name,
                "description": description,
                "isAssignableToRole": role_assignable,
            });
            output::one(
                out,
                &client
                    .post("/api/v1/groups", &body)
                    .await?
                    .unwrap_or(Value::Null),
            );
        }
        GroupsCommand::Delete { id } => {
            client
                .delete(&format!("/api/v1/groups/{}", enc(&id)))
                .await?;
            output::done(out, &format!("deleted group {id}"));
        }
        GroupsCommand::Members { id, transitive } => {
            let nav = if transitive {
                "transitiveMembers"
            } else {
                "members"
            };
            let items = client
                .list(&format!("/api/v1/groups/{}/{nav}", enc(&id)), false)
                .await?;
            output::list(out, &items, MEMBER_COLUMNS);
        }
        GroupsCommand::AddMember { group, member } => {
            let member_id = principal_id(client, &member).await?;
            let body = json!({ "@odata.id": format!("/api/v1/directoryObjects/{member_id}") });
            client
                .post(
                    &format!("/api/v1/groups/{}/members/$ref", enc(&group)),
                    &body,
                )
                .await?;
            output::done(out, &format!("added {member} to group {group}"));
        }
        GroupsCommand::RemoveMember { group, member } => {
            let member_id = principal_id(client, &member).await?;
            client
                .delete(&format!(
                    "/api/v1/groups/{}/members/{}/$ref",
                    enc(&group),
                    enc(&member_id)
                ))
                .await?;
            output::done(out, &format!("removed {member} from group {group}"));
        }
    }
    Ok(())
}

async fn assignments(client: &Client, c: AssignmentsCommand, out: Output) -> Result<()> {
    match c {
        AssignmentsCommand::List { principal, top } => {
            let mut path = format!("/api/v1/roleAssignments?$top={top}");
            if let Some(p) = principal {
                let id = principal_id(client, &p).await?;
                path.push_str(&format!(
                    "&$filter={}",
                    enc(&format!("principalId eq '{id}'"))
                ));
            }
            let mut items = client.list(&path, false).await?;
            if out == Output::Table {
                crate::names::name_assignments(client, &mut items).await?;
            }
            output::list(out, &items, ASSIGNMENT_COLUMNS);
        }
        AssignmentsCommand::Create {
            principal,
            role,
            scope,
            end,
            kind,
        } => {
            let principal_id = principal_id(client, &principal).await?;
            let mut body = json!({
                "principalId": principal_id,
                "roleDefinitionId": role,
                "directoryScopeId": scope,
                "assignmentType": kind,
            });
            if let Some(e) = end {
                body["endDateTime"] = Value::String(e);
            }
            output::one(
                out,
                &client
                    .post("/api/v1/roleAssignments", &body)
                    .await?
                    .unwrap_or(Value::Null),
            );
        }
        AssignmentsCommand::Delete { id } => {
            client
                .delete(&format!("/api/v1/roleAssignments/{}", enc(&id)))
                .await?;
            output::done(out, &format!("deleted role assignment {id}"));
        }
    }
    Ok(())
}

async fn audit(client: &Client, c: AdminAuditCommand, out: Output) -> Result<()> {
    let AdminAuditCommand::List {
        actor,
        target,
        from,
        to,
        top,
    } = c;
    let mut path = format!("/api/v1/audit?$top={top}");
    for (k, v) in [
        ("actor", actor),
        ("target", target),
        ("from", from),
        ("to", to),
    ] {
        if let Some(v) = v {
            path.push_str(&format!("&{k}={}", enc(&v)));
        }
    }
    let items = client.list(&path, false).await?;
    output::list(out, &items, AUDIT_COLUMNS);
    Ok(())
}

async fn alerts(client: &Client, c: AlertsCommand, out: Output) -> Result<()> {
    match c {
        AlertsCommand::List { status, person } => {
            let mut path = "/api/v1/alerts?$top=100".to_string();
            if let Some(s) = status {
                path.push_str(&format!("&status={}", enc(&s)));
            }
            if let Some(p) = person {
                path.push_str(&format!("&person={}", enc(&p)));
            }
            output::list(out, &client.list(&path, false).await?, ALERT_COLUMNS);
        }
        AlertsCommand::Show { id } => output::one(
            out,
            &client.get(&format!("/api/v1/alerts/{}", enc(&id))).await?,
        ),
        AlertsCommand::Ack { id } => output::one(
            out,
            &client
                .post(
                    &format!("/api/v1/alerts/{}/acknowledge", enc(&id)),
                    &json!({}),
                )
                .await?
                .unwrap_or(Value::Null),
        ),
        AlertsCommand::Resolve { id } => output::one(
            out,
            &client
                .post(&format!("/api/v1/alerts/{}/resolve", enc(&id)), &json!({}))
                .await?
                .unwrap_or(Value::Null),
        ),
        AlertsCommand::Respond {
            id,
            action,
            webhook_url,
        } => {
            let body = json!({ "action": action, "webhookUrl": webhook_url });
            output::one(
                out,
                &client
                    .post(&format!("/api/v1/alerts/{}/respond", enc(&id)), &body)
                    .await?
                    .unwrap_or(Value::Null),
            );
        }
        AlertsCommand::Push { file } => push_logs(client, &file, out).await?,
    }
    Ok(())
}

/// `admin alerts push`: one file, or every log file of a folder (as `detect` reads them). A
/// folder's answer is one row per file and the totals.
async fn push_logs(client: &Client, path: &std::path::Path, out: Output) -> Result<()> {
    let files = trustplane_detect::list_log_files(&[path.to_path_buf()])?;
    if files.is_empty() {
        bail!(
            "{} holds no log files (.json, .jsonl, .ndjson, .gz)",
            path.display()
        );
    }
    let single = !path.is_dir();
    let bar = crate::progress::Bar::new(files.len() as u64, "files");
    let mut rows = Vec::new();
    for file in &files {
        let source = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut report = push_file(client, file, &source)
            .await
            .with_context(|| format!("pushing {}", file.display()))?;
        if single {
            bar.finish();
            output::one(out, &report);
            return Ok(());
        }
        report["file"] = Value::String(file.display().to_string());
        rows.push(report);
        bar.step();
    }
    bar.finish();
    let total = |key: &str| rows.iter().filter_map(|r| r[key].as_u64()).sum::<u64>();
    let new_alerts: Vec<Value> = rows
        .iter()
        .flat_map(|r| r["newAlerts"].as_array().cloned().unwrap_or_default())
        .collect();
    match out {
        Output::Json => {
            let summary = json!({
                "files": rows.len(),
                "records": total("records"),
                "malformed": total("malformed"),
                "resolved": total("resolved"),
                "matches": total("matches"),
                "newAlerts": new_alerts,
                "results": rows,
            });
            println!("{}", serde_json::to_string_pretty(&summary)?);
        }
        Output::Table => {
            output::list(
                out,
                &rows,
                &[
                    ("file", "file"),
                    ("records", "records"),
                    ("malformed", "malformed"),
                    ("matches", "matches"),
                ],
            );
            println!(
                "{} files, {} records, {} matches, {} new alerts",
                rows.len(),
                total("records"),
                total("matches"),
                new_alerts.len()
            );
        }
    }
    Ok(())
}

/// Records per pushed batch, well within the server's push limit (`ReadLimits::PUSH`).
const PUSH_BATCH_RECORDS: usize = 5000;
/// Bytes per pushed batch: the server's request body limit (`trustplane_server::app`). It
/// is also the largest record pushed.
const PUSH_BATCH_BYTES: usize = 1024 * 1024;

/// Pushes one file as it streams: its records (gzipped or not, any shape `detect` reads) are
/// read on a blocking thread and posted as NDJSON batches of at most [`PUSH_BATCH_RECORDS`]
/// records and [`PUSH_BATCH_BYTES`] bytes, so neither side holds the file. A first pass reads
/// the file to its end without keeping anything, so a file that cannot be read (damaged gzip,
/// a record over [`PUSH_BATCH_BYTES`]) is refused before anything is pushed.
/// The answer sums the batches' answers, with the records the client could not read counted
/// as malformed.
async fn push_file(client: &Client, file: &std::path::Path, source: &str) -> Result<Value> {
    use trustplane_detect::{stream_records, Item, ReadLimits};
    let limits = ReadLimits {
        max_record_bytes: PUSH_BATCH_BYTES as u64 - 1,
        ..ReadLimits::FILE
    };
    let open = |path: &std::path::Path| {
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let path = file.to_path_buf();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
    let first = open(&path)?;
    let reader = tokio::task::spawn_blocking(move || -> Result<u64> {
        stream_records(first, &path, &limits, &mut |_| {})
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut batch = Vec::new();
        let mut line = Vec::new();
        let mut in_batch = 0_usize;
        let mut malformed = 0_u64;
        let mut sending = true;
        stream_records(open(&path)?, &path, &limits, &mut |item| match item {
            Item::Record(record) if sending => {
                line.clear();
                if serde_json::to_writer(&mut line, &record.original).is_err() {
                    return;
                }
                line.push(b'\n');
                let full =
                    in_batch >= PUSH_BATCH_RECORDS || batch.len() + line.len() > PUSH_BATCH_BYTES;
                if full && !batch.is_empty() {
                    // A closed channel: a push failed and the error is being reported.
                    sending = tx.blocking_send(std::mem::take(&mut batch)).is_ok();
                    in_batch = 0;
                }
                batch.extend_from_slice(&line);
                in_batch += 1;
            }
            Item::Record(_) => {}
            Item::Malformed(_) => malformed += 1,
        })
        .with_context(|| format!("cannot read {}", path.display()))?;
        if sending && !batch.is_empty() {
            let _ = tx.blocking_send(batch);
        }
        Ok(malformed)
    });
    let mut total =
        json!({"records": 0, "malformed": 0, "resolved": 0, "matches": 0, "newAlerts": []});
    let mut batches = 0_u64;
    while let Some(batch) = rx.recv().await {
        let answer = client
            .post_bytes(
                &format!("/api/v1/detect/ingest?source={}", enc(source)),
                batch,
            )
            .await?;
        batches += 1;
        for key in ["records", "malformed", "resolved", "matches"] {
            let sum = total[key].as_u64().unwrap_or(0) + answer[key].as_u64().unwrap_or(0);
            total[key] = json!(sum);
        }
        if let (Some(all), Some(new)) = (
            total["newAlerts"].as_array_mut(),
            answer["newAlerts"].as_array(),
        ) {
            all.extend(new.iter().cloned());
        }
    }
    let unread = reader.await.context("the reader stopped")??;
    total["malformed"] = json!(total["malformed"].as_u64().unwrap_or(0) + unread);
    total["batches"] = json!(batches);
    Ok(total)
}

/// `admin recover`: break-glass recovery straight on the database, for when no administrator
/// can sign in. The password is printed once; only its hash is stored.
async fn recover(
    upn: &str,
    data_dir: Option<&std::path::Path>,
    database_url: Option<&str>,
    master_key_file: Option<&std::path::Path>,
    out: Output,
) -> Result<i32> {
    let data_dir = data_dir.unwrap_or_else(|| std::path::Path::new("trustplane-data"));
    // Never create an empty database by mistake: recovery is for an existing directory.
    if database_url.is_none() && !data_dir.join("trustplane.db").is_file() {
        bail!(
            "no database at {}",
            data_dir.join("trustplane.db").display()
        );
    }
    let url = crate::config::database_url(database_url, data_dir)?;
    let store =
        trustplane_store::Store::open(&url, std::sync::Arc::new(trustplane_model::SystemClock))
            .await?;
    // The audit chain is keyed with the master key: the recovery's own audit entry needs it.
    if let Some(sealer) = crate::audit::master_key(data_dir, master_key_file)? {
        store.enable_audit_key(sealer.audit_key()).await?;
    }
    let recovered = trustplane_server::recover_admin(&store, upn).await;
    store.close().await;
    let (upn, password) = recovered.context("recovery failed")?;
    match out {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "userPrincipalName": upn,
                "oneTimePassword": password,
                "mustChangePassword": true,
                "role": "Global Administrator",
            }))?
        ),
        Output::Table => {
            println!(
                "Break-glass recovery done (recorded in the audit trail). Shown only this once:"
            );
            println!("  administrator:      {upn}");
            println!("  one-time password:  {password}  (must be changed at the next sign-in)");
            println!("  role:               Global Administrator (permanent, active)");
        }
    }
    Ok(0)
}
