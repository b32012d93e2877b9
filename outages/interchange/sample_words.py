"""What sample data says and how it is marked: the markers that let it be found and deleted,
the words search benchmarks look for, and the vocabulary incidents are written in."""

from bisect import bisect
from datetime import date
from itertools import accumulate

from outages.models import CustomerImpact, Incident, TimelineEvent

SLUG_PREFIX = "sample-"
NAME_PREFIX = "Sample "
URL_PREFIX = "https://example.com/sample/"
SYNTHETIC_NOTE = (
    "This is synthetic sample data, generated for benchmarks. It describes no real incident, "
    "provider or customer."
)

COMMON_WORD = "network"
COMMON_WORD_SHARE = 0.6
RARE_WORDS = ["quokka", "marmalade", "xylophone", "kumquat", "zeppelin"]
RARE_WORD_INCIDENTS = 3

# Lists are ordered by how often their words are drawn (first most often, see zipf()), so that
# the corpus has a few common words and a long tail of rare ones, as real text does. None of
# them contains COMMON_WORD or a RARE_WORD.

PROVIDERS = [
    "Nimbus", "Stratus", "Cirrus", "Cumulus", "Aurora",
    "Zenith", "Meridian", "Halcyon", "Borealis", "Solstice",
]  # fmt: skip
SERVICES = [
    "Compute", "Storage", "Database", "Queue", "Functions", "Kubernetes", "Cache", "Identity",
    "Gateway", "Monitoring", "Registry", "Search", "Streams", "Warehouse", "Mail", "Secrets",
    "Scheduler", "Notifications", "Analytics", "Backup", "Certificates", "Directory", "Edge",
    "Firewall", "Logging", "Messaging", "Pipelines", "Tables", "Tracing", "Transcoding", "Vault",
    "Workflows", "Ledger", "Batch", "Blobs", "Console", "Billing", "Domains", "Images", "Maps",
]  # fmt: skip
AREAS = [
    "east", "west", "north", "south", "central", "northeast", "northwest", "southeast",
    "southwest", "europe", "asia", "africa", "oceania", "america", "arctic",
]  # fmt: skip
CUSTOMER_FIRST = [
    "Bright", "Blue", "Swift", "Red", "Silver", "Green", "Golden", "Quiet", "Rapid", "Clever",
    "Bold", "Happy", "Iron", "Lucky", "Noble", "Orange", "Purple", "Solar", "Urban", "Wild",
]  # fmt: skip
CUSTOMER_SECOND = [
    "fish", "lane", "works", "labs", "cart", "stream", "books", "pay", "ride", "chat", "games",
    "health", "news", "travel", "foods", "homes", "bank", "learn", "music", "photo",
]  # fmt: skip
COMPONENTS = [
    "load balancer", "control plane", "storage cluster", "metadata service", "DNS resolver",
    "API frontend", "authentication service", "message broker", "cache tier", "database primary",
    "replica set", "object store", "block volume fleet", "scheduler", "container registry",
    "certificate authority", "deployment system", "monitoring agent", "configuration store",
    "edge proxy", "rate limiter", "service mesh", "hypervisor fleet", "power distribution unit",
    "cooling plant", "fibre link", "core router", "switch fabric", "lock service",
    "billing pipeline", "quota service", "autoscaler", "leader election", "key management service",
]  # fmt: skip
SYMPTOMS = [
    "elevated error rates", "increased latency", "timeouts", "failed requests",
    "dropped connections", "stale reads", "partial unavailability", "degraded throughput",
    "failed deployments", "delayed writes", "failed logins", "lost metrics", "duplicate messages",
    "failed health checks", "slow queries", "throttled calls",
]  # fmt: skip
CAUSES = [
    "a configuration change", "an expired certificate", "a bug in the retry logic",
    "a capacity limit", "a utility power failure", "an automation script", "a malformed deploy",
    "a memory leak", "a race condition", "a surge of client retries", "disk exhaustion",
    "clock skew", "a failed failover", "a bad route announcement", "a corrupted index",
    "an overloaded dependency", "a schema migration", "a kernel upgrade", "a cooling failure",
    "a cut fibre", "a firmware defect", "a stuck lease", "an unbounded queue", "a leap second",
]  # fmt: skip
ACTIONS = [
    "rolled back the change", "drained traffic from the affected zone", "restarted the fleet",
    "throttled the heaviest clients", "failed over to the standby", "added capacity",
    "disabled the automation", "restored from a snapshot", "replaced the faulty hardware",
    "rebuilt the index", "renewed the certificate", "flushed the cache", "paused the rollout",
    "raised the limit", "rerouted traffic", "resharded the hottest partition",
]  # fmt: skip
DETAILS = [
    "shard", "partition", "lease", "quorum", "heartbeat", "checksum", "snapshot", "replica",
    "backlog", "watchdog", "rollout", "canary", "runbook", "pager", "dashboard", "alarm",
    "threshold", "hotspot", "failover", "rollback", "hostname", "endpoint", "tenant", "bucket",
    "volume", "manifest", "ledger", "cursor", "tombstone", "compaction", "backpressure",
    "circuit breaker", "bulkhead", "jitter", "handshake", "keepalive", "socket", "thread pool",
    "garbage collector", "semaphore", "mutex", "journal", "superblock", "inode", "firmware",
    "breaker panel", "generator", "chiller", "transponder", "patch panel", "rack", "cage",
    "token bucket", "sidecar", "daemonset", "cron job", "feature flag", "allowlist", "denylist",
    "bootstrap", "sentinel", "arbiter", "witness", "gossip", "vector clock", "hinted handoff",
    "read repair", "merkle tree", "bloom filter", "write amplification", "tail latency",
]  # fmt: skip
METRICS = [
    "error rate", "p99 latency", "queue depth", "CPU saturation", "disk usage",
    "connection count", "health check failures", "replication lag", "packet loss",
]  # fmt: skip
LESSONS = [
    "Stage configuration changes one zone at a time.",
    "Alert on the customer's view, not only on host metrics.",
    "Keep the control plane independent of the systems it controls.",
    "Test failover under load, not only when idle.",
    "Bound every queue and every retry loop.",
    "Give the status page a home outside the affected provider.",
    "Rehearse the runbook before it is needed.",
    "Track certificate expiry in one place.",
    "Cap the blast radius of automation with rate limits.",
    "Make rollbacks as quick as rollouts.",
]
ZONES = [
    "UTC", "America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin",
    "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney",
]  # fmt: skip
CAUSE_CATEGORIES = [
    Incident.Cause.CONFIGURATION,
    Incident.Cause.SOFTWARE_BUG,
    Incident.Cause.OPERATIONAL_ERROR,
    Incident.Cause.RESOURCE_LIMIT,
    Incident.Cause.AUTOMATION,
    Incident.Cause.POWER_FAILURE,
    Incident.Cause.OTHER,
]
IMPACT_LEVELS = [
    CustomerImpact.Level.DEGRADED,
    CustomerImpact.Level.OUTAGE,
    CustomerImpact.Level.AFFECTED,
    CustomerImpact.Level.NOT_AFFECTED,
]
PUBLISHERS = ["Sample Tech News", "Sample Cloud Weekly", "Sample Reliability Digest"]


def zipf(items):
    """Items with cumulative weights 1/rank, for random.choices: the first is the most common."""
    return items, list(accumulate(1 / rank for rank in range(1, len(items) + 1)))


def pick(rng, table):
    # What rng.choices(items, cum_weights=...)[0] does, without its overhead.
    items, cum_weights = table
    return items[bisect(cum_weights, rng.random() * cum_weights[-1], 0, len(items) - 1)]


def pick_some(rng, table, count):
    """Up to `count` distinct items, common ones more likely."""
    chosen = []
    for item in rng.choices(table[0], cum_weights=table[1], k=count):
        if item not in chosen:
            chosen.append(item)
    return chosen


REGION_CODES = [f"{area}-{number}" for area in AREAS for number in (1, 2, 3)]
FILLER_KINDS = [
    TimelineEvent.Kind.ESCALATION,
    TimelineEvent.Kind.MITIGATION,
    TimelineEvent.Kind.COMMUNICATION,
    TimelineEvent.Kind.COMMUNICATION,
    TimelineEvent.Kind.OTHER,
]
PRECISIONS = [
    TimelineEvent.Precision.MINUTE,
    TimelineEvent.Precision.APPROXIMATE,
    TimelineEvent.Precision.DATE,
]


def duration(delta):
    hours, minutes = divmod(int(delta.total_seconds()) // 60, 60)
    return f"{hours} hours {minutes} minutes" if hours else f"{minutes} minutes"


# English month names, as strftime's %B gives them in the C locale, without strftime's cost.
MONTHS = [None, *(date(2000, month, 1).strftime("%B") for month in range(1, 13))]


def stated(local, precision):
    """A time as a source would write it, in the incident's own zone."""
    if precision == TimelineEvent.Precision.DATE:
        return f"{MONTHS[local.month]} {local.day}, {local.year}"
    hour = local.hour
    clock = f"{hour % 12 or 12}:{local.minute:02d} {'AM' if hour < 12 else 'PM'} {local.tzname()}"
    return f"about {clock}" if precision == TimelineEvent.Precision.APPROXIMATE else clock
