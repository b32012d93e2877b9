# Varnish 7 in front of the postmortems app servers (Debian: varnish, varnish-modules).
#
#   varnishd -a :80 -f /etc/varnish/postmortems.vcl -s malloc,256m
#
# The app says what may be cached and for how long (Cache-Control: public, max-age=0,
# s-maxage=N, stale-while-revalidate=N, stale-if-error=N) and what each page shows
# (Surrogate-Key: site incidents incident:<slug> ...). After each committed write it sends
# "PURGE <url>" with "xkey-purge: <tags>" here, and exactly the pages with those tags go.
# Editors' responses are "private, no-store" and never stored.
#
# Backends, their probe, the round-robin director "app" and the purge ACL are in backends.vcl,
# next to this file.

vcl 4.1;

import directors;
import std;
import var;
import xkey;

include "./backends.vcl";

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.xkey-purge) {
            return (synth(400, "An xkey-purge header naming the tags is required"));
        }
        # The changed incident's own pages (its page, its Markdown, its changes feed, tagged
        # "incident:<slug>") go at once: the next reader of each waits for its one render (a
        # page's, well under a second; Varnish fetches it once for all who wait), so the
        # publish shows to everyone after the purge, not from the second reader on.
        # When the last purge came (Varnish's own clock): a fetch that began before it may
        # bring a page rendered from the rows before the change, and is not stored (see
        # vcl_backend_response). Kept in whole microseconds since a fixed second of 2023: a REAL
        # turns into a string with three decimals, and a purge rounded up to the next
        # millisecond would refuse to store the pages fetched just after it; an INT holds at
        # most 15 digits, too few for microseconds since 1970.
        var.global_set("purged-at", "" + std.integer(
            real=(std.time2real(now, 0.0) - 1700000000.0) * 1000000.0, fallback=0));
        set req.http.X-Own = regsuball(" " + req.http.xkey-purge, "\s+(?!incident:)\S+", "");
        set req.http.X-Purged = 0;
        if (req.http.X-Own ~ "\S") {
            set req.http.X-Purged = xkey.purge(req.http.X-Own);
        }
        # Every other page with the tags is soft-purged: expired but kept for grace, so the
        # first reader after a publish gets the previous page at once (X-Cache: stale) and
        # starts one background fetch, and every reader after it gets the new page. A hard
        # purge would make the readers of a slow page (the map, seconds cold) queue behind
        # its render instead.
        set req.http.X-Purged = std.integer(req.http.X-Purged, 0)
            + xkey.softpurge(req.http.xkey-purge);
        return (synth(200, "Purged"));
    }
    set req.backend_hint = app.backend();
    unset req.http.X-Cache-Internal;
    if (req.restarts == 0) {
        unset req.http.X-Stale-If-Error;
        unset req.http.X-Grace-Limit;
    }
    if (req.method != "GET" && req.method != "HEAD") {
        set req.http.X-Cache-Internal = "pass";
        return (pass);
    }
    # Editors: the admin, logging in and out, and anyone signed in (Django's session cookie).
    if (req.url ~ "^/(admin|accounts)(/|\?|$)" || req.http.Cookie ~ "(^|;\s*)sessionid=") {
        set req.http.X-Cache-Internal = "pass";
        return (pass);
    }
    if (req.http.Authorization) {
        set req.http.X-Cache-Internal = "pass";
        return (pass);
    }
    # Readers' pages never depend on a cookie; other cookies (analytics, an old CSRF token)
    # would only split the cache.
    unset req.http.Cookie;
    if (req.http.X-Stale-If-Error) {
        # Restarted from vcl_synth: any stale copy within its grace will do (req.grace
        # survives a restart, so lift the limit set below).
        set req.grace = 365d;
    } else if (req.http.X-Grace-Limit) {
        # Restarted from vcl_hit: the stale copy is past stale-while-revalidate and the app is
        # up, so fetch a fresh page in the foreground (the stale copy stays for an error).
        set req.grace = std.duration(req.http.X-Grace-Limit + "s", 0s);
    }
    return (hash);
}

sub vcl_hit {
    # Fresh, or stale within stale-while-revalidate (Varnish refreshes it in the background).
    if (obj.ttl >= 0s || obj.ttl + std.duration(obj.http.X-SWR + "s", 0s) >= 0s) {
        return (deliver);
    }
    # Past stale-while-revalidate but within stale-if-error: served only when the app cannot
    # answer (every server sick, or the fresh fetch failed; see vcl_synth).
    if (req.http.X-Stale-If-Error || !std.healthy(req.backend_hint)) {
        return (deliver);
    }
    set req.http.X-Grace-Limit = obj.http.X-SWR;
    return (restart);
}

sub vcl_backend_fetch {
    # Background refreshes (a soft-purged list, say) go to the same app servers through
    # backends limited to a few connections each (backends.vcl), so after a publish the app's
    # threads are never all busy re-rendering stale pages while the changed incident's own page,
    # which its readers wait for, queues behind them. A refresh refused for that stays a stale
    # copy, and the next reader of the page starts another.
    if (bereq.is_bgfetch) {
        set bereq.backend = background.backend();
    }
    # In the unit of "purged-at" (vcl_recv), kept as a string: var's own INT holds 32 bits.
    var.set_string("fetch-started", "" + std.integer(
        real=(std.time2real(now, 0.0) - 1700000000.0) * 1000000.0, fallback=0));
}

sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);
    }
    if (beresp.status >= 500 && (bereq.is_bgfetch || bereq.http.X-Grace-Limit)) {
        # The app cannot give a fresh page (the database is down, say) but a stale copy is
        # kept: drop this answer and keep the copy. A background refresh simply fails;
        # a foreground one reaches vcl_synth, which serves the copy (stale-if-error).
        return (abandon);
    }
    # Stored only when the app says so: errors, and anything without Cache-Control (a 404 for
    # a draft that is about to be published, say), would otherwise stay default_ttl unpurged.
    if (beresp.status >= 500 || !beresp.http.Cache-Control
        || beresp.http.Cache-Control ~ "(private|no-store|no-cache)" || beresp.http.Set-Cookie) {
        set beresp.ttl = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    # A purge came while this page was being fetched: the app may have rendered it from the
    # rows before the change, after its own check (a render that began before the commit and
    # reached here after the purge). It goes to the readers waiting for it but is not stored,
    # so the purged page cannot come back; a background refresh leaves the stale copy for the
    # next reader to refresh again.
    if (std.integer(var.global_get("purged-at"), 0)
        >= std.integer(var.get_string("fetch-started"), 0)) {
        if (bereq.is_bgfetch) {
            return (abandon);
        }
        set beresp.ttl = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    # xkey reads the tags from an "xkey" header; the app names them Surrogate-Key, as CDNs do.
    if (beresp.http.Surrogate-Key) {
        set beresp.http.xkey = beresp.http.Surrogate-Key;
        unset beresp.http.Surrogate-Key;
    }
    # beresp.ttl already comes from s-maxage. Grace covers both RFC 5861 windows: the longer
    # one is how long the object is kept servable, and X-SWR (read in vcl_hit) how long it is
    # served stale while the app is up.
    set beresp.http.X-SWR = "0";
    if (beresp.http.Cache-Control ~ "stale-while-revalidate=\d+") {
        set beresp.http.X-SWR = regsub(beresp.http.Cache-Control,
            ".*stale-while-revalidate=(\d+).*", "\1");
    }
    set beresp.grace = std.duration(beresp.http.X-SWR + "s", 0s);
    if (beresp.http.Cache-Control ~ "stale-if-error=\d+") {
        set beresp.grace = std.duration(regsub(beresp.http.Cache-Control,
            ".*stale-if-error=(\d+).*", "\1") + "s", beresp.grace);
        if (beresp.grace < std.duration(beresp.http.X-SWR + "s", 0s)) {
            set beresp.grace = std.duration(beresp.http.X-SWR + "s", 0s);
        }
    }
    # Kept a while longer for conditional refreshes: an unchanged page comes back as a 304.
    set beresp.keep = 1h;
    # One object per page. The app sends gzip (Varnish asks every fetch for it) and Varnish
    # stores it so; the rare client without gzip gets it unpacked by Varnish. Accept-Encoding
    # is therefore no reason for a second copy; vcl_deliver tells downstream caches again.
    if (beresp.http.Vary == "Accept-Encoding") {
        unset beresp.http.Vary;
    }
    return (deliver);
}

sub vcl_backend_error {
    if (bereq.is_bgfetch || bereq.http.X-Grace-Limit) {
        return (abandon);
    }
    set beresp.http.Content-Type = "text/plain; charset=utf-8";
    set beresp.http.Retry-After = "10";
    set beresp.http.Cache-Control = "no-store";
    set beresp.body = "postmortems is briefly unavailable. Please try again in a moment.";
    return (deliver);
}

sub vcl_deliver {
    if (req.http.X-Cache-Internal == "pass") {
        set resp.http.X-Cache = "pass";
    } else if (obj.hits > 0 && obj.ttl < 0s) {
        set resp.http.X-Cache = "stale";
    } else if (obj.hits > 0) {
        set resp.http.X-Cache = "hit";
    } else {
        set resp.http.X-Cache = "miss";
    }
    if (resp.http.xkey) {
        set resp.http.Vary = "Accept-Encoding";
    }
    unset resp.http.xkey;
    unset resp.http.Surrogate-Key;
    unset resp.http.Cache-Tag;
    unset resp.http.X-SWR;
    unset resp.http.Via;
}

sub vcl_synth {
    # A fresh fetch for a stale copy past stale-while-revalidate was abandoned (vcl_backend_
    # response): serve the stale copy instead (stale-if-error).
    if (resp.status == 503 && req.http.X-Grace-Limit && !req.http.X-Stale-If-Error) {
        set req.http.X-Stale-If-Error = "1";
        return (restart);
    }
    if (req.method == "PURGE") {
        set resp.http.Content-Type = "text/plain; charset=utf-8";
        set resp.http.X-Purged = req.http.X-Purged;
        if (resp.status == 200) {
            set resp.body = req.http.X-Purged + " purged" + {"
"};
        } else {
            set resp.body = resp.reason + {"
"};
        }
        return (deliver);
    }
    if (resp.status == 503) {
        # Nothing stale to serve either: say so plainly, as the app's own 503 page does.
        set resp.http.Content-Type = "text/plain; charset=utf-8";
        set resp.http.Retry-After = "10";
        set resp.body = "postmortems is briefly unavailable. Please try again in a moment.";
        return (deliver);
    }
}
