//! CloudTrail events for validation tests: the fixtures in `tests/fixtures/cloudtrail/` (one
//! per supported event name, shaped like AWS's documented examples) with their placeholders
//! filled in.

use crate::{KitError, Step};
use chrono::{DateTime, Utc};

/// The directory of the fixtures.
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/cloudtrail");

/// The event `name` about resource `id`, in `account` and `region`, at `time`, with `event_id`.
pub fn cloudtrail_event(
    name: &str,
    id: &str,
    account: &str,
    region: &str,
    time: DateTime<Utc>,
    event_id: &str,
) -> Result<String, KitError> {
    let path = format!("{FIXTURES}/{name}.json");
    Ok(std::fs::read_to_string(&path)
        .step(format!("reading {path}"))?
        .replace("${ACCOUNT}", account)
        .replace("${REGION}", region)
        .replace(
            "${TIME}",
            &time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
        .replace("${EVENT_ID}", event_id)
        .replace("${ID}", id))
}
