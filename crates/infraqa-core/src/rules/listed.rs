//! [`Listed`]: a rule judging each item of a list the account's settings hold, rather than
//! resources of the inventory: the users of the credential report, the server certificates and
//! the attached managed policies (read once per account), the file systems, KMS keys and
//! network ACLs (read per region). Each item is a unit of its own, typed by
//! [`Rule::unit_type`].
//!
//! A list that could not be read, or that the inventory does not hold, leaves that account (or
//! that region) not evaluated: one unit standing for the account, as what is in it is not known.

use super::{EvalContext, Rule, Verdict, account_arn, not_recorded_in};
use crate::finding::RuleId;
use crate::model::{GLOBAL_REGION, Resource};
use crate::observed::Observed;
use crate::settings::{GlobalSettings, RegionSettings, Setting};
use chrono::{DateTime, Utc};

/// An account-level verdict: (region, ARN, verdict).
type Unit = (String, String, Verdict);

/// Where a [`Listed`] rule's list is held.
pub enum Source<T: 'static> {
    /// Once per account, with its global services.
    Account(fn(&GlobalSettings) -> Option<&Observed<Vec<T>>>),
    /// Once per scanned region.
    Region(fn(&RegionSettings) -> Option<&Observed<Vec<T>>>),
}

/// A rule on each item of a list the settings hold.
pub struct Listed<T: 'static> {
    pub(super) id: RuleId,
    pub(super) setting: Setting,
    pub(super) unit_type: &'static str,
    /// The list.
    pub(super) list: Source<T>,
    /// An item's ARN.
    pub(super) arn: fn(&T) -> &str,
    /// The verdict on one item; `None` for an item the rule does not judge (a key that
    /// cannot rotate, an ACL no subnet uses).
    pub(super) judge: fn(&T, DateTime<Utc>) -> Option<Verdict>,
}

impl<T: 'static> Listed<T> {
    /// Every unit and its verdict (passes included): each item judged, or for a list not known,
    /// the account in its region, not evaluated.
    fn judged(&self, cx: &EvalContext<'_>) -> Vec<Unit> {
        let inv = cx.inventory;
        let (service, operation) = self.setting.call();
        let lists: Vec<(&str, Option<&Observed<Vec<T>>>)> = match &self.list {
            // A shard of one region leaves the account's lists to the shard that reads IAM.
            Source::Account(_) if !inv.covers_global() => Vec::new(),
            Source::Account(list) => {
                vec![(GLOBAL_REGION, inv.settings.global.as_deref().and_then(list))]
            }
            Source::Region(list) => inv
                .regions
                .iter()
                .map(|region| {
                    (
                        region.as_str(),
                        inv.settings.regions.get(region).and_then(list),
                    )
                })
                .collect(),
        };
        let account = |region: &str| {
            // The partition of a global unit is the scanned regions'.
            let of = match region {
                GLOBAL_REGION => inv.regions.first().map_or(GLOBAL_REGION, String::as_str),
                r => r,
            };
            account_arn(of, &inv.account_id)
        };
        let mut out = Vec::new();
        for (region, list) in lists {
            match list {
                Some(Observed::Read(items)) => {
                    out.extend(items.iter().filter_map(|item| {
                        (self.judge)(item, cx.now)
                            .map(|v| (region.to_owned(), (self.arn)(item).to_owned(), v))
                    }));
                }
                Some(Observed::Unread(e)) => {
                    out.push((region.to_owned(), account(region), Verdict::unread(e)));
                }
                None => out.push((
                    region.to_owned(),
                    account(region),
                    not_recorded_in(region, self.unit_type, service, operation),
                )),
            }
        }
        out
    }
}

impl<T: 'static> Rule for Listed<T> {
    fn id(&self) -> RuleId {
        self.id
    }

    fn needs(&self) -> &'static [Setting] {
        self.setting.alone()
    }

    fn unit_type(&self) -> &'static str {
        self.unit_type
    }

    fn applies(&self, _cx: &EvalContext<'_>, _r: &Resource) -> bool {
        false
    }

    fn check(&self, _cx: &EvalContext<'_>, _r: &Resource) -> Verdict {
        Verdict::Pass
    }

    fn account_scope(&self, cx: &EvalContext<'_>) -> Vec<(String, String)> {
        self.judged(cx)
            .into_iter()
            .map(|(region, arn, _)| (region, arn))
            .collect()
    }

    fn check_account(&self, cx: &EvalContext<'_>) -> Vec<Unit> {
        self.judged(cx)
            .into_iter()
            .filter(|(_, _, v)| !matches!(v, Verdict::Pass))
            .collect()
    }
}
