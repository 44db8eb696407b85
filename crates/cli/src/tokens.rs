//! `trustplane admin tokens ...`: API tokens, issued (shown once), listed and revoked.

use anyhow::Result;
use serde_json::{json, Value};

use crate::args::{Output, TokensCommand};
use crate::client::{enc, Client};
use crate::output;

const TOKEN_COLUMNS: &[(&str, &str)] = &[
    ("id", "id"),
    ("user", "userPrincipalName"),
    ("description", "description"),
    ("created", "createdDateTime"),
    ("expires", "expirationDateTime"),
];

pub async fn tokens(client: &Client, c: TokensCommand, out: Output) -> Result<()> {
    match c {
        TokensCommand::List { user, all } => {
            let path = match (user, all) {
                (_, true) => "/api/v1/apiTokens?userId=all".to_string(),
                (Some(u), false) => format!("/api/v1/apiTokens?userId={}", enc(&u)),
                (None, false) => "/api/v1/apiTokens".to_string(),
            };
            output::list(out, &client.list(&path, false).await?, TOKEN_COLUMNS);
        }
        TokensCommand::Revoke { id } => {
            client
                .delete(&format!("/api/v1/apiTokens/{}", enc(&id)))
                .await?;
            output::done(out, &format!("revoked token {id}"));
        }
        TokensCommand::Create {
            user,
            description,
            expires_in_days,
        } => {
            let user = match user {
                Some(u) => u,
                None => client.get("/api/v1/me").await?["user"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            };
            let body = json!({ "userId": user, "description": description, "expiresInDays": expires_in_days });
            let made = client
                .post("/api/v1/apiTokens", &body)
                .await?
                .unwrap_or(Value::Null);
            match out {
                Output::Json => output::one(out, &made),
                Output::Table => println!(
                    "token (shown once): {}",
                    made["token"].as_str().unwrap_or_default()
                ),
            }
        }
    }
    Ok(())
}
