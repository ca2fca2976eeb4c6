//! Which generic resources AWS created with the account.
//!
//! Subnets, route tables, network ACLs and internet gateways reach the inventory only through
//! the tagging API, and only when someone tagged them. A default VPC's subnets and internet
//! gateway, a main route table and a default network ACL are AWS's, not the user's, however
//! they arrive (the rule catalogue exempts them from `tags-required` and `region-approved`),
//! so each tagged one is looked up with its own `Describe*` call, filtered to the tagged ids:
//! no call at all in a region where none is tagged. A lookup that fails leaves the answer
//! unread, and those rules then report the resource as not evaluated.

use crate::clients::AwsClients;
use crate::error::AwsError;
use crate::scan::sink::Sink;
use aws_sdk_ec2::types::Filter;
use infraqa_core::model::{ResourceDetails, Vpc};
use infraqa_core::observed::Observed;
use infraqa_core::{Resource, ScanError};
use std::collections::{BTreeMap, BTreeSet};

const SVC: &str = "ec2";
/// Values per filter that EC2 accepts in one request.
const FILTER_VALUES: usize = 200;

/// The generic types that may be AWS defaults.
const CANDIDATES: [&str; 4] = [
    "ec2:subnet",
    "ec2:route-table",
    "ec2:network-acl",
    "ec2:internet-gateway",
];

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

/// The ids, among `ids`, of what one filtered `Describe*` call (all its pages) finds to be
/// AWS's: `$list` is the page's list, `$is_default` the test, `$id` the item's id.
macro_rules! defaults_among {
    ($clients:expr, $region:expr, $ids:expr, $sink:expr, $call:ident, $filter:literal,
     $op:literal, $list:ident, $is_default:expr, $id:ident) => {{
        let stream = $clients
            .ec2($region)
            .$call()
            .filters(filter($filter, $ids))
            .into_paginator()
            .send();
        $sink
            .pages($region, SVC, $op, stream)
            .await
            .iter()
            .flat_map(|p| p.$list())
            .filter($is_default)
            .filter_map(|x| x.$id().map(str::to_owned))
            .collect::<Vec<String>>()
    }};
}

/// Sets `aws_default` on every candidate in `generic`; returns the failures to record.
pub async fn mark_aws_defaults(
    clients: &AwsClients,
    known: &[Resource],
    generic: &mut [Resource],
) -> Vec<ScanError> {
    // (region, type) -> ids to look up.
    let mut wanted: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for r in generic.iter() {
        if CANDIDATES.contains(&r.resource_type.as_str()) {
            wanted
                .entry((r.region.to_string(), r.resource_type.to_string()))
                .or_default()
                .insert(r.id.to_string());
        }
    }
    let mut sink = Sink::default();
    let mut answers: BTreeMap<(String, String), Observed<BTreeSet<String>>> = BTreeMap::new();
    for ((region, kind), ids) in wanted {
        let ids: Vec<String> = ids.into_iter().collect();
        let mut part = Sink::default();
        let mut defaults = BTreeSet::new();
        for chunk in ids.chunks(FILTER_VALUES) {
            let (region, sink) = (region.as_str(), &mut part);
            defaults.extend(match kind.as_str() {
                "ec2:subnet" => defaults_among!(
                    clients,
                    region,
                    chunk,
                    sink,
                    describe_subnets,
                    "subnet-id",
                    "DescribeSubnets",
                    subnets,
                    |s| s.default_for_az() == Some(true),
                    subnet_id
                ),
                "ec2:route-table" => defaults_among!(
                    clients,
                    region,
                    chunk,
                    sink,
                    describe_route_tables,
                    "route-table-id",
                    "DescribeRouteTables",
                    route_tables,
                    |t| t.associations().iter().any(|a| a.main() == Some(true)),
                    route_table_id
                ),
                "ec2:network-acl" => defaults_among!(
                    clients,
                    region,
                    chunk,
                    sink,
                    describe_network_acls,
                    "network-acl-id",
                    "DescribeNetworkAcls",
                    network_acls,
                    |a| a.is_default() == Some(true),
                    network_acl_id
                ),
                _ => default_gateways(clients, known, region, chunk, sink).await,
            });
        }
        answers.insert((region, kind), part.observed(defaults));
        sink.absorb(part);
    }
    for r in generic.iter_mut() {
        let key = (r.region.to_string(), r.resource_type.to_string());
        if let (Some(answer), ResourceDetails::Generic(g)) = (answers.get(&key), &mut r.details) {
            g.aws_default = answer
                .clone()
                .map(|defaults| defaults.contains(r.id.as_str()));
        }
    }
    sink.errors
}

/// Internet gateways attached to the region's default VPC, known from the scan's own
/// `DescribeVpcs` (read again only for a VPC the scan did not list).
async fn default_gateways(
    clients: &AwsClients,
    known: &[Resource],
    region: &str,
    ids: &[String],
    sink: &mut Sink,
) -> Vec<String> {
    let stream = clients
        .ec2(region)
        .describe_internet_gateways()
        .filters(filter("internet-gateway-id", ids))
        .into_paginator()
        .send();
    let gateways: Vec<(String, Vec<String>)> = sink
        .pages(region, SVC, "DescribeInternetGateways", stream)
        .await
        .iter()
        .flat_map(|p| p.internet_gateways())
        .filter_map(|g| {
            let vpcs = g
                .attachments()
                .iter()
                .filter_map(|a| a.vpc_id().map(str::to_owned))
                .collect();
            Some((g.internet_gateway_id()?.to_owned(), vpcs))
        })
        .collect();
    let mut default_vpc: BTreeMap<String, bool> = known
        .iter()
        .filter(|r| r.region == region)
        .filter_map(|r| match &r.details {
            ResourceDetails::Ec2Vpc(Vpc { is_default, .. }) => {
                Some((r.id.to_string(), *is_default))
            }
            _ => None,
        })
        .collect();
    let unlisted: Vec<String> = gateways
        .iter()
        .flat_map(|(_, vpcs)| vpcs)
        .filter(|v| !default_vpc.contains_key(*v))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !unlisted.is_empty() {
        match clients
            .ec2(region)
            .describe_vpcs()
            .filters(filter("vpc-id", &unlisted))
            .send()
            .await
        {
            Ok(out) => default_vpc.extend(
                out.vpcs()
                    .iter()
                    .filter_map(|v| Some((v.vpc_id()?.to_owned(), v.is_default()?))),
            ),
            Err(e) => {
                sink.error(region, &AwsError::call(SVC, "DescribeVpcs", e));
            }
        }
    }
    gateways
        .into_iter()
        .filter(|(_, vpcs)| vpcs.iter().any(|v| default_vpc.get(v) == Some(&true)))
        .map(|(id, _)| id)
        .collect()
}
