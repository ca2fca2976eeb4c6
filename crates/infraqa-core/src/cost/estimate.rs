//! Per-resource monthly estimates from the price table, and what an orphan wastes.

use crate::model::{InstanceState, Resource, ResourceDetails};
use crate::prices::PriceTable;
use crate::round2;

/// The estimated monthly cost of one resource; `None` when the table cannot price it.
pub fn monthly_cost(r: &Resource, t: &PriceTable) -> Option<f64> {
    let region = r.region.as_str();
    match &r.details {
        ResourceDetails::Ec2Instance(i) => match i.state {
            // Stopped instances bill only for their volumes, priced on their own.
            InstanceState::Stopped | InstanceState::Stopping => Some(0.0),
            InstanceState::Running | InstanceState::Pending => {
                t.ec2_month(region, &i.instance_type)
            }
        },
        ResourceDetails::Ec2Volume(v) => t.ebs_month(region, &v.volume_type, v.size_gib),
        ResourceDetails::Ec2Snapshot(s) => t.snapshot_month(region, s.size_gib),
        ResourceDetails::Ec2ElasticIp(_) => t.public_ipv4_month(region),
        ResourceDetails::Ec2NatGateway(n) => match n.state.as_str() {
            "deleted" | "deleting" | "failed" => Some(0.0),
            _ => t.nat_gateway_month(region),
        },
        ResourceDetails::RdsDb(d) => t.rds_month(region, &d.instance_class),
        ResourceDetails::LogsLogGroup(g) => t.logs_month(region, g.stored_bytes),
        // Free: images bill through their snapshots; groups, VPCs and roles cost nothing.
        ResourceDetails::Ec2Image(_)
        | ResourceDetails::Ec2SecurityGroup(_)
        | ResourceDetails::Ec2Vpc(_)
        | ResourceDetails::IamRole(_) => Some(0.0),
        _ => None,
    }
}

/// The monthly cost an orphan wastes: its own price, and for a stopped instance the price of
/// the volumes still attached to it (`attached`).
pub fn orphan_cost(r: &Resource, attached: &[&Resource], t: &PriceTable) -> Option<f64> {
    match &r.details {
        ResourceDetails::Ec2Instance(_) => attached
            .iter()
            .map(|v| monthly_cost(v, t))
            .sum::<Option<f64>>()
            .map(round2),
        _ => monthly_cost(r, t).map(round2),
    }
}
