//! EC2 (per region): security groups, network ACLs, VPCs, flow logs, instances, EBS
//! encryption by default; and DescribeRegions for the account.

use aws_config::SdkConfig;
use aws_sdk_ec2::types::{IpPermission, NetworkAclEntry};
use aws_sdk_ec2::Client;
use serde_json::{json, Value};
use trustplane_posture::ResourceDoc;

use crate::common::{en, msg, task, ts, Scope, Task};

/// Regions enabled for the account (opted-in or not needing opt-in), as DescribeRegions
/// items.
pub(crate) async fn enabled_regions(conf: &SdkConfig) -> Result<Vec<Value>, String> {
    let out = Client::new(conf)
        .describe_regions()
        .send()
        .await
        .map_err(msg)?;
    Ok(out
        .regions()
        .iter()
        .filter(|r| r.opt_in_status() != Some("not-opted-in"))
        .map(|r| {
            json!({"RegionName": r.region_name(), "Endpoint": r.endpoint(), "OptInStatus": r.opt_in_status()})
        })
        .collect())
}

/// The EC2 collections of one region.
pub(crate) fn tasks(conf: &SdkConfig, scope: &Scope) -> Vec<Task> {
    let c = Client::new(conf);
    vec![
        task(scope, "ec2", &["aws.ec2.security_group"], {
            let c = c.clone();
            |s| async move { security_groups(&c, &s).await }
        }),
        task(scope, "ec2", &["aws.ec2.network_acl"], {
            let c = c.clone();
            |s| async move { network_acls(&c, &s).await }
        }),
        task(scope, "ec2", &["aws.ec2.vpc"], {
            let c = c.clone();
            |s| async move { vpcs(&c, &s).await }
        }),
        task(scope, "ec2", &["aws.ec2.flow_log"], {
            let c = c.clone();
            |s| async move { flow_logs(&c, &s).await }
        }),
        task(scope, "ec2", &["aws.ec2.instance"], {
            let c = c.clone();
            |s| async move { instances(&c, &s).await }
        }),
        task(scope, "ec2", &["aws.ec2.ebs_encryption_by_default"], {
            let c = c.clone();
            |s| async move { ebs_default(&c, &s).await }
        }),
    ]
}

fn arn(s: &Scope, kind: &str, id: &str) -> String {
    format!("arn:aws:ec2:{}:{}:{kind}/{id}", s.region, s.account)
}

fn permission(p: &IpPermission) -> Value {
    json!({
        "IpProtocol": p.ip_protocol(),
        "FromPort": p.from_port(),
        "ToPort": p.to_port(),
        "IpRanges": p.ip_ranges().iter().map(|r| json!({"CidrIp": r.cidr_ip(), "Description": r.description()})).collect::<Vec<_>>(),
        "Ipv6Ranges": p.ipv6_ranges().iter().map(|r| json!({"CidrIpv6": r.cidr_ipv6(), "Description": r.description()})).collect::<Vec<_>>(),
        "UserIdGroupPairs": p.user_id_group_pairs().iter().map(|g| json!({"GroupId": g.group_id(), "UserId": g.user_id()})).collect::<Vec<_>>(),
        "PrefixListIds": p.prefix_list_ids().iter().map(|l| json!({"PrefixListId": l.prefix_list_id()})).collect::<Vec<_>>(),
    })
}

async fn security_groups(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let groups = c
        .describe_security_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    Ok(groups
        .iter()
        .map(|g| {
            let id = g.group_id().unwrap_or_default();
            s.doc(
                "aws.ec2.security_group",
                &arn(s, "security-group", id),
                g.group_name().unwrap_or(id),
                json!({
                    "GroupId": g.group_id(),
                    "GroupName": g.group_name(),
                    "Description": g.description(),
                    "VpcId": g.vpc_id(),
                    "OwnerId": g.owner_id(),
                    "IpPermissions": g.ip_permissions().iter().map(permission).collect::<Vec<_>>(),
                    "IpPermissionsEgress": g.ip_permissions_egress().iter().map(permission).collect::<Vec<_>>(),
                }),
            )
        })
        .collect())
}

fn nacl_entry(e: &NetworkAclEntry) -> Value {
    json!({
        "RuleNumber": e.rule_number(),
        "Protocol": e.protocol(),
        "RuleAction": en(e.rule_action()),
        "Egress": e.egress(),
        "CidrBlock": e.cidr_block(),
        "Ipv6CidrBlock": e.ipv6_cidr_block(),
        "PortRange": e.port_range().map(|p| json!({"From": p.from(), "To": p.to()})),
    })
}

async fn network_acls(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let acls = c
        .describe_network_acls()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    Ok(acls
        .iter()
        .map(|a| {
            let id = a.network_acl_id().unwrap_or_default();
            s.doc(
                "aws.ec2.network_acl",
                &arn(s, "network-acl", id),
                id,
                json!({
                    "NetworkAclId": a.network_acl_id(),
                    "VpcId": a.vpc_id(),
                    "IsDefault": a.is_default(),
                    "OwnerId": a.owner_id(),
                    "Entries": a.entries().iter().map(nacl_entry).collect::<Vec<_>>(),
                    "Associations": a.associations().iter().map(|x| json!({"NetworkAclAssociationId": x.network_acl_association_id(), "SubnetId": x.subnet_id()})).collect::<Vec<_>>(),
                }),
            )
        })
        .collect())
}

async fn vpcs(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let vpcs = c
        .describe_vpcs()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    Ok(vpcs
        .iter()
        .map(|v| {
            let id = v.vpc_id().unwrap_or_default();
            s.doc(
                "aws.ec2.vpc",
                &arn(s, "vpc", id),
                id,
                json!({
                    "VpcId": v.vpc_id(),
                    "CidrBlock": v.cidr_block(),
                    "IsDefault": v.is_default(),
                    "State": en(v.state()),
                    "OwnerId": v.owner_id(),
                }),
            )
        })
        .collect())
}

async fn flow_logs(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let logs = c
        .describe_flow_logs()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    Ok(logs
        .iter()
        .map(|f| {
            let id = f.flow_log_id().unwrap_or_default();
            s.doc(
                "aws.ec2.flow_log",
                &arn(s, "vpc-flow-log", id),
                id,
                json!({
                    "FlowLogId": f.flow_log_id(),
                    "FlowLogStatus": f.flow_log_status(),
                    "ResourceId": f.resource_id(),
                    "TrafficType": en(f.traffic_type()),
                    "LogDestinationType": en(f.log_destination_type()),
                    "LogDestination": f.log_destination(),
                    "LogGroupName": f.log_group_name(),
                    "DeliverLogsStatus": f.deliver_logs_status(),
                    "CreationTime": ts(f.creation_time()),
                }),
            )
        })
        .collect())
}

async fn instances(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let reservations = c
        .describe_instances()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(msg)?;
    Ok(reservations
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            let id = i.instance_id().unwrap_or_default();
            s.doc(
                "aws.ec2.instance",
                &arn(s, "instance", id),
                id,
                json!({
                    "InstanceId": i.instance_id(),
                    "InstanceType": en(i.instance_type()),
                    "ImageId": i.image_id(),
                    "LaunchTime": ts(i.launch_time()),
                    "State": i.state().map(|st| json!({"Name": en(st.name()), "Code": st.code()})),
                    "VpcId": i.vpc_id(),
                    "SubnetId": i.subnet_id(),
                    "PublicIpAddress": i.public_ip_address(),
                    "MetadataOptions": i.metadata_options().map(|m| json!({
                        "State": en(m.state()),
                        "HttpTokens": en(m.http_tokens()),
                        "HttpEndpoint": en(m.http_endpoint()),
                        "HttpPutResponseHopLimit": m.http_put_response_hop_limit(),
                    })),
                    "IamInstanceProfile": i.iam_instance_profile().map(|p| json!({"Arn": p.arn(), "Id": p.id()})),
                    "SecurityGroups": i.security_groups().iter().map(|g| json!({"GroupId": g.group_id(), "GroupName": g.group_name()})).collect::<Vec<_>>(),
                }),
            )
        })
        .collect())
}

async fn ebs_default(c: &Client, s: &Scope) -> Result<Vec<ResourceDoc>, String> {
    let out = c
        .get_ebs_encryption_by_default()
        .send()
        .await
        .map_err(msg)?;
    let id = format!(
        "arn:aws:ec2:{}:{}:ebs-encryption-by-default",
        s.region, s.account
    );
    Ok(vec![s.doc(
        "aws.ec2.ebs_encryption_by_default",
        &id,
        "EBS encryption by default",
        json!({"EbsEncryptionByDefault": out.ebs_encryption_by_default().unwrap_or(false)}),
    )])
}
