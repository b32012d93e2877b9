"""What each kind of front cache is sent to purge a set of tags: one HTTP request or several.

FRONT_CACHE_PURGE_URLS names each front cache by an address whose scheme says its kind:

- `http://…` or `https://…`: Varnish with deploy/'s VCL, `PURGE` to that address with the tags
  space-separated in `xkey-purge`.
- `fastly://SERVICE_ID`: Fastly's API, `POST /service/SERVICE_ID/purge` with the tags
  space-separated in `Surrogate-Key`, at most FASTLY_KEYS_PER_CALL to a call, authenticated by
  `Fastly-Key: FASTLY_API_TOKEN`.
- `cloudflare://ZONE_ID`: Cloudflare's API, `POST /zones/ZONE_ID/purge_cache` with
  `{"tags": [...]}`, at most CLOUDFLARE_TAGS_PER_CALL to a call, authenticated by
  `Authorization: Bearer CLOUDFLARE_API_TOKEN`.

The tokens come from the environment, never from the address, so neither the settings' list nor
a log line holds one: logs name a front cache by its `name` below.
"""

from dataclasses import dataclass, field

from django.conf import settings

FASTLY_API = "https://api.fastly.com"
CLOUDFLARE_API = "https://api.cloudflare.com/client/v4"
# Fastly's batch purge takes up to 256 surrogate keys. Cloudflare's API documentation long said
# 30 tags per call, and now allows more on every plan: 30 works on all of them.
FASTLY_KEYS_PER_CALL = 256
CLOUDFLARE_TAGS_PER_CALL = 30
VARNISH_HEADER = "xkey-purge"  # what deploy/'s VCL hands to xkey.purge()


@dataclass(frozen=True)
class Purge:
    """One HTTP request that purges `tags` from the front cache called `name` in logs."""

    name: str
    tags: tuple
    method: str
    url: str
    headers: dict = field(default_factory=dict)
    json: object = None


def requests(address, tags):
    """The requests that purge these tags (any order) from the front cache at address."""
    tags = tuple(sorted(tags))
    kind, _, where = address.partition("://")
    if kind == "fastly":
        return [
            Purge(
                f"Fastly service {where}",
                batch,
                "POST",
                f"{FASTLY_API}/service/{where}/purge",
                {
                    "Fastly-Key": settings.FASTLY_API_TOKEN,
                    "Surrogate-Key": " ".join(batch),
                    "Accept": "application/json",
                },
            )
            for batch in batches(tags, FASTLY_KEYS_PER_CALL)
        ]
    if kind == "cloudflare":
        return [
            Purge(
                f"Cloudflare zone {where}",
                batch,
                "POST",
                f"{CLOUDFLARE_API}/zones/{where}/purge_cache",
                {"Authorization": f"Bearer {settings.CLOUDFLARE_API_TOKEN}"},
                {"tags": list(batch)},
            )
            for batch in batches(tags, CLOUDFLARE_TAGS_PER_CALL)
        ]
    # Varnish takes any number in one header; front_cache.LONGEST_PURGE keeps it under its limit.
    return [Purge(address, tags, "PURGE", address, {VARNISH_HEADER: " ".join(tags)})]


def batches(items, size):
    return [items[start : start + size] for start in range(0, len(items), size)]


def refusal(response):
    """Why an answer with a 2xx status still did not purge, or None: Cloudflare says
    `"success": false` in its JSON."""
    if "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("success") is False:
        return f"answered success: false {body.get('errors', '')}".strip()
    return None
