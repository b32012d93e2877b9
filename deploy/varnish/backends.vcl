# The app servers behind Varnish and who may purge: the part of the set-up that differs from one
# deployment to the next. postmortems.vcl includes this file; edit the addresses here (or point
# varnishd's vcl_path at a folder holding your own backends.vcl).

# The probe asks whether this app server's process answers (/healthz), not whether the database
# does (/readyz). Both servers share one database, so its loss is no reason to prefer either;
# and a server marked sick gets no requests at all, while with the database down the app still
# serves its own Redis page cache and its clean 503 page. Stale copies are Varnish's part:
# postmortems.vcl serves them when the backend errors (stale-if-error) as well as when every
# server is sick.
probe app_alive {
    .url = "/healthz";
    .interval = 1s;
    .timeout = 1s;
    .window = 3;
    .threshold = 2;
    .initial = 2;
}

backend app1 {
    .host = "127.0.0.1";
    .port = "8001";
    .probe = app_alive;
    .connect_timeout = 1s;
    .first_byte_timeout = 30s;  # no page takes this long; a stuck one gives a 503, not a hang
}

backend app2 {
    .host = "127.0.0.1";
    .port = "8002";
    .probe = app_alive;
    .connect_timeout = 1s;
    .first_byte_timeout = 30s;
}

# The same app servers for Varnish's background refreshes of stale pages, a few at a time on
# each: with a server's Python threads (postmortems/serve.py: workers x threads, 4 on two cores)
# above this, a reader Varnish fetches for in the foreground always finds one free. No probe: a
# refresh that fails keeps the stale copy.
backend app1_background {
    .host = "127.0.0.1";
    .port = "8001";
    .connect_timeout = 1s;
    .first_byte_timeout = 30s;
    .max_connections = 2;
}

backend app2_background {
    .host = "127.0.0.1";
    .port = "8002";
    .connect_timeout = 1s;
    .first_byte_timeout = 30s;
    .max_connections = 2;
}

# "app", the round-robin director postmortems.vcl sends readers to, and "background", the one
# its background refreshes go through.
sub vcl_init {
    new app = directors.round_robin();
    app.add_backend(app1);
    app.add_backend(app2);
    new background = directors.round_robin();
    background.add_backend(app1_background);
    background.add_backend(app2_background);
}

# Who may send PURGE: the app servers (FRONT_CACHE_PURGE_URLS points them here). Add their
# addresses when they run on other machines.
acl purgers {
    "localhost";
    "127.0.0.1";
    "::1";
}
