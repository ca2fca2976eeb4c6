//! The command-line grammar: global options and subcommands.

use clap::{Args, Parser, Subcommand};
use infraqa_aws::{AwsOptions, RateLimit, Service};
use infraqa_core::Severity;
use infraqa_core::limits::MAX_RATE_LIMIT;
use infraqa_core::policy::AccountScope;
use infraqa_pipeline::Location;
use std::path::PathBuf;

/// infraqa keeps an AWS estate honest: it discovers resources, checks them against your
/// policy, and reports what to fix.
///
/// AWS credentials, region and endpoint come from the standard chain (AWS_PROFILE,
/// AWS_REGION, AWS_ENDPOINT_URL, SSO, instance roles); --profile, --region and
/// --endpoint-url override them.
///
/// Exit codes: 0 success; 2 bad usage or invalid policy/input; 3 AWS or storage failure that
/// stopped the run; 4 with --fail-on SEVERITY when a finding at or above it exists.
#[derive(Debug, Parser)]
#[command(name = "infraqa", version, max_term_width = 100)]
pub struct Cli {
    /// Options every subcommand accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// AWS profile to use instead of AWS_PROFILE.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Home AWS region instead of AWS_REGION (where STS, IAM and S3 Control are called).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (a local emulator) instead of AWS_ENDPOINT_URL.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Attempts per AWS call including the first; throttling and transient errors are
    /// retried with exponential backoff and full jitter.
    #[arg(long, global = true, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// Client-side request rate per region for a service, e.g. `ec2=10` (repeatable); wins over
    /// the policy's `[scan.rate_limits]`. Defaults: ec2 20/s, s3 100/s, lambda 15/s, iam 10/s,
    /// logs, cloudtrail and tagging 5/s (sources in docs/cli.md).
    #[arg(long = "rate-limit", global = true, value_name = "SERVICE=RPS", value_parser = parse_rate_limit)]
    pub rate_limits: Vec<(Service, RateLimit)>,
    /// More log output: -v info, -vv debug for infraqa, -vvv debug for everything.
    /// RUST_LOG, when set, wins.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

impl GlobalArgs {
    /// The AWS client options these flags describe.
    pub fn aws_options(&self) -> AwsOptions {
        AwsOptions {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            max_attempts: self.max_attempts,
            rate_limits: self.rate_limits.iter().copied().collect(),
            ..AwsOptions::default()
        }
    }
}

fn parse_rate_limit(s: &str) -> Result<(Service, RateLimit), String> {
    let (svc, rps) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not SERVICE=RPS, e.g. ec2=10"))?;
    let service = svc.trim().parse::<Service>().map_err(|e| e.to_string())?;
    let rps: u32 = rps
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=MAX_RATE_LIMIT).contains(n))
        .ok_or_else(|| {
            format!("`{rps}` is not a number of requests per second from 1 to {MAX_RATE_LIMIT}")
        })?;
    Ok((service, RateLimit::per_second(rps)))
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with policy files.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The compliance frameworks infraqa ships (enable one with `[frameworks] enabled` in the
    /// policy; report.json then says each requirement's status).
    #[command(subcommand)]
    Frameworks(FrameworksCommand),
    /// Discover every resource in the policy's regions and write DIR/inventory.json.
    ///
    /// Regions and services are read concurrently under per-service rate limits. A region or
    /// service that cannot be read is recorded in the inventory's `errors` and the scan goes
    /// on; the summary then says PARTIAL. Exit 3 only when the account itself cannot be read.
    Scan(ScanArgs),
    /// Evaluate the rules against an inventory and write DIR/findings.json.
    ///
    /// Findings, exempted findings (allow-lists and exemptions, with their reasons) and orphans.
    /// With --fail-on SEVERITY, exit 4 when a finding at or above it exists.
    Check(CheckArgs),
    /// Write report.json, report.html, findings.csv and report.md into DIR from an inventory
    /// and its findings, and append the run to the history store (default DIR/history).
    ///
    /// The trend compares with the last --trend-runs runs of the same account in the store.
    /// With --fail-on SEVERITY, exit 4 when a finding at or above it exists.
    Report(ReportArgs),
    /// Scan, check and report in one go: DIR/inventory.json, DIR/findings.json and the
    /// reports; history in DIR/history unless --history names another place.
    Run(RunArgs),
    /// The audit export of a period: every run's compliance figures and inventory snapshot,
    /// the trend across the period and the remediation actions taken, in one JSON file.
    Audit(AuditArgs),
    /// Plan the tags a report calls for (ComplianceStatus, CreatedAt, inherited and default
    /// values); with --apply, write them.
    ///
    /// Plan is the default: a table, or JSON with --json (save it and pass it to --apply
    /// --plan FILE to write exactly what was reviewed). An existing tag value is never
    /// overwritten (except ComplianceStatus); resources carrying the [tagging] opt_out_tag or
    /// exempted from tags-required are left alone. With --apply each resource is re-read
    /// first and skipped if its tags changed; every write is audited in DIR/audit-log/. Exit 3
    /// when a write failed.
    Tag(TagArgs),
    /// Repair what is safe to repair: plan from a check's findings, apply a reviewed plan,
    /// undo an applied action.
    ///
    /// Plan is the default: DIR/fix-plan.json (each action's exact API calls, the state read
    /// now that it depends on, how it is undone; each failing resource left alone with why)
    /// and a summary. --apply --plan FILE re-reads each resource and skips it when it changed
    /// since the plan, is exempted or allow-listed now, or carries the [remediation]
    /// opt_out_tag = never; stops after --max-changes changes; reads each change back; audits
    /// every write in DIR/audit-log/. --undo ACTION_ID restores what an applied action changed,
    /// refusing when the resource changed since. Exit 3 when a change failed or did not take,
    /// or an undo was refused.
    Fix(FixArgs),
    /// Validate the resources one CloudTrail event names (an EventBridge "AWS API Call via
    /// CloudTrail" event) and print the verdict as JSON.
    ///
    /// The verdict comes from a fresh read of each resource, after --grace seconds from the
    /// event's time. approved and ignored exit 0; flagged exits 4 with --fail-on when a finding
    /// reaches it; not-evaluated (a read failed) exits 3. Audited once per event id in
    /// DIR/audit-log/; a critical finding is published to the SNS topic of [alerts] or
    /// --alert-topic, once per event.
    Validate(ValidateArgs),
    /// Re-evaluate a policy over the inventories of past runs (kept in the history store with
    /// each run's entry) and print, per run, what it would have found: findings of the rule
    /// (or of every rule), new and resolved since the run before, the difference from what the
    /// run recorded, and the compliance score it would have given.
    ///
    /// Runs from before inventories were kept are counted and left out. Exit 2 when the policy
    /// is invalid or does not run --rule.
    Backtest(BacktestArgs),
    /// Download the reports of the deployed suite: the newest run's (or --run ID's, or with
    /// --organization the newest organization run's summary) report.html, report.md,
    /// report.json and findings.csv, from the bucket the stack's ReportsBucketName output
    /// names, into --out DIR (default reports/RUN_ID), and print where they are.
    ///
    /// Needs cloudformation:DescribeStacks on the stack and s3:GetObject on the bucket. With
    /// --open, report.html is opened with the system's opener (xdg-open or open) when there is
    /// one. Exit 2 when the stack has no such output or the suite has reported no run yet.
    Fetch(FetchArgs),
    /// Export a reported run's findings where security teams look: AWS Security Hub (ASFF,
    /// imported with --security-hub) and OCSF Detection Findings (--format ocsf).
    ///
    /// Reads the run's history entry (each finding's first-seen time, the rules in force):
    /// report the run first. What goes out: every finding open; every finding infraqa sent to
    /// Security Hub before that this run judged and did not find again closed (ASFF
    /// RecordState ARCHIVED, OCSF status Resolved or Suppressed); every finding this run could
    /// not judge untouched. With --security-hub, BatchImportFindings in batches of 100 at most
    /// 10 calls a second, each account's findings in each region's hub; what Security Hub then
    /// holds is recorded in the history store's security-hub/. Exit 3 when Security Hub
    /// refused a finding or a call failed (what was accepted is still recorded).
    Export(ExportArgs),
}

/// `infraqa export`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["format", "security_hub"])))]
pub struct ExportArgs {
    /// The findings written by `infraqa check` (of a reported run).
    #[arg(long, value_name = "FILE")]
    pub findings: PathBuf,
    /// The inventory they were checked from.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// Write the findings in this format: asff (a JSON array, what BatchImportFindings takes)
    /// or ocsf (JSON lines, OCSF 1.5.0 Detection Findings).
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// Where to write them. Default: beside the findings, findings.asff.json or
    /// findings.ocsf.jsonl.
    #[arg(long, value_name = "FILE", requires = "format")]
    pub out: Option<PathBuf>,
    /// Import them into AWS Security Hub, with the lifecycle.
    #[arg(long)]
    pub security_hub: bool,
    /// The history store the run was reported to. Default: history/ beside the findings.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub history: Option<Location>,
}

/// What `infraqa export --format` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// AWS Security Finding Format (2018-10-08), a JSON array.
    Asff,
    /// OCSF 1.5.0 Detection Findings (class 2004), one per line.
    Ocsf,
}

/// `infraqa fetch`
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The suite's CloudFormation stack (its name or id).
    #[arg(long, value_name = "NAME", default_value = "infraqa")]
    pub stack: String,
    /// This run's reports instead of the newest (a folder name under runs/).
    #[arg(long, value_name = "ID", conflicts_with = "organization")]
    pub run: Option<String>,
    /// The newest organization run's summary (organization.html, ...) instead.
    #[arg(long)]
    pub organization: bool,
    /// Where to put them. Default: reports/RUN_ID.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Open the HTML report once it is here.
    #[arg(long)]
    pub open: bool,
}

/// `infraqa backtest`
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// The policy to backtest (typically with a new or changed rule).
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The history store runs wrote to.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub history: Location,
    /// Only this rule (a catalogue rule or a custom rule the policy declares).
    #[arg(long, value_name = "ID")]
    pub rule: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `infraqa tag`
#[derive(Debug, Args)]
pub struct TagArgs {
    /// The policy file.
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The report.json to plan from (its inventory.json is read from the same directory).
    #[arg(long, value_name = "FILE", required_unless_present = "plan")]
    pub report: Option<PathBuf>,
    /// The inventory the report (or the saved plan) was made from, when not beside it.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Write the plan.
    #[arg(long)]
    pub apply: bool,
    /// With --apply: write this saved plan (from --json) instead of planning again. Each entry
    /// is checked against what a fresh plan from its inventory (beside it, or --inventory)
    /// could hold; an entry that could not is refused and reported, the rest written.
    #[arg(
        long,
        value_name = "FILE",
        requires = "apply",
        conflicts_with = "report"
    )]
    pub plan: Option<PathBuf>,
    /// Print the plan (or the results) as JSON.
    #[arg(long)]
    pub json: bool,
    /// With --apply: write nothing when the plan touches more than N resources.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub max_changes: Option<u32>,
    /// Where the audit log goes: DIR/audit-log/. Default: the report's directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The history store; when in S3, the audit log is also written to its audit-log/.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub history: Option<Location>,
}

/// `infraqa fix`
#[derive(Debug, Args)]
pub struct FixArgs {
    /// The policy file.
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The findings.json to plan from (`infraqa check`).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["apply", "undo"])]
    pub findings: Option<PathBuf>,
    /// The inventory the findings were made from. Default: inventory.json beside them.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Plan only this rule's findings, or this kind of orphan (`sg-unused`...); repeatable.
    #[arg(long = "rule", value_name = "ID")]
    pub rules: Vec<String>,
    /// Let the public access block onto buckets that serve a website or grant CloudFront.
    #[arg(long)]
    pub include_website: bool,
    /// Let in what cannot be undone: releasing unassociated elastic IPs, deleting orphaned
    /// snapshots.
    #[arg(long)]
    pub allow_irreversible: bool,
    /// Where fix-plan.json and the audit log (DIR/audit-log/) go.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Apply a reviewed plan (--plan FILE).
    #[arg(long, conflicts_with = "undo")]
    pub apply: bool,
    /// With --apply: the plan to apply (fix-plan.json).
    #[arg(long, value_name = "FILE", requires = "apply")]
    pub plan: Option<PathBuf>,
    /// With --apply: make at most N changes, then stop (the rest are reported not applied).
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub max_changes: u32,
    /// Notify first: with --findings, tag each planned resource infraqa:remediate-after=DATE
    /// (DAYS from now) and send one summary to the alert topic; `--apply --due` acts later.
    #[arg(long, value_name = "DAYS", requires = "findings",
          value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub mark: Option<u32>,
    /// With --mark: the SNS topic of the summary (default: [alerts] topic).
    #[arg(long, value_name = "ARN", requires = "mark")]
    pub alert_topic: Option<String>,
    /// With --apply: act only on resources marked with a day that has come.
    #[arg(long, requires = "apply")]
    pub due: bool,
    /// Undo the applied action ACTION_ID (as --apply printed it), from DIR's audit log.
    #[arg(long, value_name = "ACTION_ID")]
    pub undo: Option<String>,
    /// The history store; when in S3, the audit log is also written to its audit-log/.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub history: Option<Location>,
    /// Print the plan (or the results) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `infraqa validate`
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The policy file.
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The EventBridge event (JSON).
    #[arg(long, value_name = "FILE")]
    pub event: PathBuf,
    /// Set missing Owner (from the event's principal), CreatedAt (from the event time) and
    /// ComplianceStatus.
    #[arg(long)]
    pub apply_tags: bool,
    /// Read the resources no earlier than this many seconds after the event's time, so tags
    /// written just after creation count.
    #[arg(long, value_name = "SECONDS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=infraqa_core::validation::MAX_GRACE_SECONDS))]
    pub grace: u64,
    /// Exit 4 when a finding at or above this severity exists.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Publish critical findings to this SNS topic (overrides [alerts] topic).
    #[arg(long, value_name = "ARN")]
    pub alert_topic: Option<String>,
    /// Where the audit log goes: DIR/audit-log/. Default: the current directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The history store; when in S3, the audit log is also written to its audit-log/.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub history: Option<Location>,
}

/// What `report` and `run` share: where history goes, how far the trend looks back, and when
/// to fail.
#[derive(Debug, Args)]
pub struct ReportOptions {
    /// The history store: a directory or s3://BUCKET/PREFIX. Default: OUT/history.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub history: Option<Location>,
    /// How many past runs the trend compares with.
    #[arg(long, value_name = "N", default_value_t = infraqa_core::report::DEFAULT_TREND_RUNS as u16,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub trend_runs: u16,
    /// Exit 4 when a finding at or above this severity exists.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
}

/// `infraqa report`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The policy file.
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The inventory written by `infraqa scan`.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// The findings written by `infraqa check`.
    #[arg(long, value_name = "FILE")]
    pub findings: PathBuf,
    /// The output directory, or s3://BUCKET/PREFIX.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub out: Location,
    /// History store, trend window, failure threshold.
    #[command(flatten)]
    pub options: ReportOptions,
}

/// `infraqa run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The policy file.
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// Where inventory.json, findings.json and the reports go: a directory or
    /// s3://BUCKET/PREFIX.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub out: Location,
    /// History store, trend window, failure threshold.
    #[command(flatten)]
    pub options: ReportOptions,
    /// The accounts to run over, instead of the policy's `[accounts] ids`: `org` (every active
    /// account of the organization), `own` (the credentials' account alone), or account ids
    /// separated by commas. Each account's files go to OUT/ACCOUNT_ID/, and OUT/organization.json
    /// sums them up.
    #[arg(long, value_name = "org|own|ID,ID...", value_parser = parse_accounts)]
    pub accounts: Option<AccountScope>,
    /// How many shards (an account's global services, or one of its regions) are scanned and
    /// checked at once, over at most as many accounts.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
}

/// `infraqa audit`
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// First day of the period (YYYY-MM-DD, UTC, inclusive).
    #[arg(long, value_name = "DATE")]
    pub from: chrono::NaiveDate,
    /// Last day of the period (YYYY-MM-DD, UTC, inclusive).
    #[arg(long, value_name = "DATE")]
    pub to: chrono::NaiveDate,
    /// The directory runs wrote to: history in DIR/history, remediation actions in
    /// DIR/audit-log/*.jsonl (and in the history's audit-log/ when it is in S3).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// The history store, when not DIR/history.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub history: Option<Location>,
    /// Where to write the export. Default: DIR/audit-FROM-TO.json.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The policy whose exemptions the pack lists (expired in the period, expiring, in force).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

/// `infraqa check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The policy file.
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The inventory written by `infraqa scan`.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// Where to write findings.json: a directory (created if missing) or s3://BUCKET/PREFIX.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub out: Location,
    /// Exit 4 when a finding at or above this severity exists (critical, high, medium, low).
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
}

fn parse_accounts(s: &str) -> Result<AccountScope, String> {
    match s {
        "org" | "organization" => Ok(AccountScope::Organization),
        "own" => Ok(AccountScope::Own),
        list => {
            let ids: Vec<String> = list.split(',').map(|id| id.trim().to_owned()).collect();
            match ids
                .iter()
                .find(|id| id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()))
            {
                Some(bad) => Err(format!(
                    "\"{bad}\" is not a 12-digit account id (expected org, own or ids separated by commas)"
                )),
                None => Ok(AccountScope::List(ids)),
            }
        }
    }
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse::<Severity>().map_err(|e| e.to_string())
}

/// `infraqa scan`
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The policy file (its `[scan] regions` decide what is scanned).
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// Where to write inventory.json: a directory (created if missing) or s3://BUCKET/PREFIX.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub out: Location,
}

/// `infraqa frameworks ...`
#[derive(Debug, Subcommand)]
pub enum FrameworksCommand {
    /// Each shipped framework: its id, name and how many of its requirements are automated,
    /// manual, and decided by infraqa's rules.
    List,
    /// One framework's requirements: id, automated or manual, the rules that decide it (none:
    /// not covered), and its title. Exit 2 when no shipped framework has the id.
    Show {
        /// The framework's id, e.g. cis-aws-7.0.
        id: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `infraqa policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file and print the effective policy (defaults filled in) as TOML.
    ///
    /// Unknown keys, malformed values, unknown rule ids and bad dates are reported with their
    /// key and line; the exit code is then 2.
    Check {
        /// The policy file (TOML).
        file: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_flags_become_aws_options() {
        let cli = Cli::try_parse_from([
            "infraqa",
            "--profile",
            "audit",
            "--region",
            "eu-west-1",
            "--endpoint-url",
            "http://127.0.0.1:5599",
            "--max-attempts",
            "3",
            "--rate-limit",
            "ec2=7",
            "policy",
            "check",
            "p.toml",
        ])
        .unwrap();
        let opts = cli.global.aws_options();
        assert_eq!(opts.profile.as_deref(), Some("audit"));
        assert_eq!(opts.region.as_deref(), Some("eu-west-1"));
        assert_eq!(opts.endpoint_url.as_deref(), Some("http://127.0.0.1:5599"));
        assert_eq!(opts.max_attempts, 3);
        assert_eq!(opts.rate_limit(Service::Ec2).per_second.get(), 7);
        assert_eq!(opts.rate_limit(Service::S3).per_second.get(), 100);
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        let cases = [
            vec!["infraqa", "--rate-limit", "ec2", "policy", "check", "p"],
            vec![
                "infraqa",
                "--rate-limit",
                "dynamo=3",
                "policy",
                "check",
                "p",
            ],
            vec!["infraqa", "--rate-limit", "ec2=0", "policy", "check", "p"],
            vec!["infraqa", "--max-attempts", "0", "policy", "check", "p"],
            vec!["infraqa", "policy", "check"],
            vec!["infraqa", "-v", "-q", "policy", "check", "p"],
        ];
        for argv in cases {
            let err = Cli::try_parse_from(&argv).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{argv:?}");
        }
    }

    /// Every numeric flag with its documented range, and a command line that carries it.
    fn numeric_flags() -> Vec<(&'static str, i128, i128, Vec<&'static str>)> {
        let tag = vec!["tag", "--policy", "p", "--report", "r", "--apply"];
        let validate = vec!["validate", "--policy", "p", "--event", "e"];
        let report = vec![
            "report",
            "--policy",
            "p",
            "--inventory",
            "i",
            "--findings",
            "f",
            "--out",
            "o",
        ];
        let run = vec!["run", "--policy", "p", "--out", "o"];
        vec![
            ("--max-attempts", 1, 20, vec!["policy", "check", "p"]),
            ("--max-changes", 0, 1_000_000, tag),
            (
                "--grace",
                0,
                i128::from(infraqa_core::validation::MAX_GRACE_SECONDS),
                validate,
            ),
            ("--trend-runs", 1, 1000, report),
            ("--parallel", 1, 64, run),
        ]
    }

    fn parse(argv: &[String]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("infraqa".to_owned()).chain(argv.iter().cloned()))
    }

    proptest::proptest! {
        /// Any value of any numeric flag is taken when it is a whole number in the flag's
        /// range and is otherwise a usage error (exit 2) naming the flag: never a panic, never
        /// a value that overflows later.
        #[test]
        fn numeric_flags_take_their_range_and_refuse_the_rest(
            which in 0usize..5,
            value in proptest::prop_oneof![
                proptest::num::i128::ANY,
                -2i128..70,
                999_990i128..1_000_010,
                86_390i128..86_410,
                proptest::sample::select(vec![
                    i128::from(u16::MAX), i128::from(u32::MAX), i128::from(u64::MAX),
                    i128::from(u64::MAX) + 1, i128::from(i64::MIN),
                ]),
            ],
        ) {
            let (flag, low, high, command) = numeric_flags().swap_remove(which);
            let mut argv: Vec<String> = command.iter().map(|s| (*s).to_owned()).collect();
            argv.push(format!("{flag}={value}"));
            match parse(&argv) {
                Ok(_) => proptest::prop_assert!((low..=high).contains(&value), "{flag} {value} was taken"),
                Err(e) => {
                    proptest::prop_assert!(!(low..=high).contains(&value), "{flag} {value}: {e}");
                    proptest::prop_assert_eq!(e.exit_code(), 2);
                    proptest::prop_assert!(e.to_string().contains(flag), "{e}");
                }
            }
        }

        /// A rate limit takes 1 to 10,000 requests per second and names the value otherwise.
        #[test]
        fn rate_limits_take_their_range(value in proptest::num::i128::ANY) {
            let argv = vec!["--rate-limit".to_owned(), format!("ec2={value}"), "policy".to_owned(),
                            "check".to_owned(), "p".to_owned()];
            match parse(&argv) {
                Ok(cli) => {
                    proptest::prop_assert!((1..=10_000).contains(&value));
                    let rate = cli.global.aws_options().rate_limit(Service::Ec2).per_second.get();
                    proptest::prop_assert_eq!(i128::from(rate), value);
                }
                Err(e) => {
                    proptest::prop_assert!(!(1..=10_000).contains(&value));
                    proptest::prop_assert_eq!(e.exit_code(), 2);
                    proptest::prop_assert!(e.to_string().contains("--rate-limit"), "{e}");
                }
            }
        }
    }

    #[test]
    fn the_grammar_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
