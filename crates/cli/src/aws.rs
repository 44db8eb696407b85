//! `trustplane aws connect`: an AWS account's side of console sign-in through Trustplane.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use trustplane_aws::federation::{self, ConnectPlan, ConnectReport, RolePlan};
use trustplane_aws::CollectOptions;

use crate::args::{AwsArgs, AwsCommand, AwsConnectArgs, Output};
use crate::client::Client;
use crate::output;

pub async fn run(args: AwsArgs, out: Output) -> Result<i32> {
    match args.command {
        AwsCommand::Connect(c) => connect(&Client::new(&args.api)?, c, out).await,
    }
}

fn role_plans(args: &AwsConnectArgs) -> Result<Vec<RolePlan>> {
    args.roles
        .iter()
        .map(|spec| {
            let (name, policies) = spec.split_once('=').unwrap_or((spec, ""));
            let valid = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
            if !valid {
                bail!("--role {spec}: a role name is 1 to 64 letters, digits or +=,.@_-");
            }
            Ok(RolePlan {
                name: name.to_string(),
                managed_policy_arns: policies
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect(),
                max_session_duration: args.max_session_duration,
            })
        })
        .collect()
}

async fn connect(api: &Client, args: AwsConnectArgs, out: Output) -> Result<i32> {
    let roles = role_plans(&args)?;
    let metadata_xml = api
        .get_text("/saml/metadata")
        .await
        .context("cannot read Trustplane's SAML metadata")?;
    if !args.apply {
        print_plan(&args, &roles, out);
        return Ok(0);
    }
    let options = CollectOptions {
        endpoint_url: args.endpoint_url.clone(),
        home_region: args.region.clone(),
        assume_roles: args.assume_role.iter().cloned().collect(),
        role_session_name: "trustplane-connect".into(),
        ..CollectOptions::default()
    };
    let plan = ConnectPlan {
        provider_name: args.provider_name.clone(),
        metadata_xml,
        roles,
    };
    let report = federation::connect(&options, &plan).await?;
    let registered = register_roles(api, &report, args.max_session_duration).await?;
    output::list(
        out,
        &registered,
        &[
            ("role", "roleArn"),
            ("in AWS", "aws"),
            ("Trustplane role", "displayName"),
            ("id", "id"),
        ],
    );
    Ok(0)
}

/// Makes each AWS role assignable in Trustplane, once: a role already registered for the same
/// ARN is left as it is.
async fn register_roles(
    api: &Client,
    report: &ConnectReport,
    max_session_duration: i32,
) -> Result<Vec<Value>> {
    let existing = api.get("/api/v1/roleDefinitions").await?;
    let existing = existing["value"].as_array().cloned().unwrap_or_default();
    let mut rows = Vec::new();
    for role in &report.roles {
        let found = existing
            .iter()
            .find(|d| d["resource"]["roleArn"] == role.role_arn.as_str());
        let definition = match found {
            Some(d) => d.clone(),
            None => {
                let name = role.role_arn.rsplit('/').next().unwrap_or(&role.role_arn);
                api.post(
                    "/api/v1/roleDefinitions",
                    &json!({
                        "displayName": format!("AWS {} {name}", report.account_id),
                        "description": "An AWS role reached through Trustplane single sign-on",
                        "resource": {
                            "type": "awsSamlRole",
                            "accountId": report.account_id,
                            "roleArn": role.role_arn,
                            "samlProviderArn": report.provider_arn,
                            "maxSessionDuration": max_session_duration,
                        }
                    }),
                )
                .await?
                .unwrap_or(Value::Null)
            }
        };
        rows.push(json!({
            "roleArn": role.role_arn,
            "aws": if role.created { "created" } else { "updated" },
            "displayName": definition["displayName"],
            "id": definition["id"],
            "samlProviderArn": report.provider_arn,
        }));
    }
    Ok(rows)
}

fn print_plan(args: &AwsConnectArgs, roles: &[RolePlan], out: Output) {
    let provider = format!(
        "arn:aws:iam::<account>:saml-provider/{}",
        args.provider_name
    );
    let plan = json!({
        "samlProvider": {
            "name": args.provider_name,
            "metadata": "GET /saml/metadata of this Trustplane server",
        },
        "roles": roles.iter().map(|r| json!({
            "name": r.name,
            "managedPolicies": r.managed_policy_arns,
            "maxSessionDuration": r.max_session_duration,
        })).collect::<Vec<_>>(),
        "trustPolicy": serde_json::from_str::<Value>(&federation::trust_policy(&provider)).unwrap_or(Value::Null),
        "next": "run again with --apply to create these through the AWS API, or create them by hand",
    });
    match out {
        Output::Json => output::one(out, &plan),
        Output::Table => {
            println!(
                "In the AWS account, create an IAM SAML provider named {} from this server's /saml/metadata,",
                args.provider_name
            );
            println!("and these roles, each with the trust policy below:");
            for r in roles {
                println!(
                    "  - {} (max session {} s){}",
                    r.name,
                    r.max_session_duration,
                    if r.managed_policy_arns.is_empty() {
                        String::new()
                    } else {
                        format!(", policies: {}", r.managed_policy_arns.join(", "))
                    }
                );
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&plan["trustPolicy"]).unwrap_or_default()
            );
            println!("Run again with --apply to do this through the AWS API and register the roles in Trustplane.");
        }
    }
}
