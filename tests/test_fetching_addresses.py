"""The address rule: only http and https, no loopback, private or link-local address (not even
after a redirect) unless FETCH_ALLOW_PRIVATE, and the connection made to the address checked."""

import shutil
import socket
import ssl
import subprocess

import pytest
from pytest_httpserver import HTTPServer

from outages.interchange import fetching
from outages.interchange.fetching import fetch
from tests.test_fetching import local, refusal


@pytest.fixture
def connections(monkeypatch):
    """Every TCP connection opened (httpcore connects through socket.create_connection)."""
    made = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):
        made.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    return made


@pytest.fixture
def no_private(fetch_locally):
    fetch_locally.FETCH_ALLOW_PRIVATE = False
    return fetch_locally


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("http://10.0.0.1/admin", "10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://localhost:{port}/secret", "localhost resolves to 127.0.0.1, a loopback address"),
    ],
)
def test_a_redirect_to_a_private_address_is_refused(
    httpserver, no_private, monkeypatch, connections, location, said
):
    # The test server itself is on 127.0.0.1, so its first hop is let through by name, and
    # only that name: every later hop meets the real check.
    checked = fetching._addresses
    monkeypatch.setattr(
        fetching,
        "_addresses",
        lambda host, port: (
            [fetching.ipaddress.ip_address(host)] if host == "127.0.0.1" else checked(host, port)
        ),
    )
    location = location.format(port=httpserver.port)
    httpserver.expect_request("/start").respond_with_data(
        "", status=302, headers={"Location": location}
    )
    httpserver.expect_request("/secret").respond_with_data("internal")
    url = local(httpserver, "/start")

    failure = refusal(url)

    assert failure == (
        f"{url} (redirected to {location}): refused: {said} (set FETCH_ALLOW_PRIVATE to allow it)"
    )
    assert [entry[0].path for entry in httpserver.log] == ["/start"]
    assert connections == [("127.0.0.1", httpserver.port)]


def test_the_local_server_is_refused_unless_private_addresses_are_allowed(
    httpserver, no_private, connections
):
    httpserver.expect_request("/x").respond_with_data("internal")
    url = local(httpserver, "/x")

    failure = refusal(url)

    assert failure == (
        f"{url}: refused: 127.0.0.1 is a loopback address (set FETCH_ALLOW_PRIVATE to allow it)"
    )
    assert httpserver.log == []
    assert connections == []


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://localhost/x", "localhost resolves to 127.0.0.1, a loopback address"),
        ("http://10.0.0.1/x", "10.0.0.1 is a private address"),
        ("https://192.168.1.1/x", "192.168.1.1 is a private address"),
        ("http://169.254.169.254/latest/", "169.254.169.254 is a link-local address"),
        ("http://[::1]:8101/x", "::1 is a loopback address"),
        ("http://[fe80::1]/x", "fe80::1 is a link-local address"),
        ("http://[fd00::1]/x", "fd00::1 is a private address"),
        ("http://[::ffff:10.0.0.1]/x", "::ffff:10.0.0.1 is a private address"),
        ("http://100.64.0.1/x", "100.64.0.1 is a shared (carrier-grade NAT) address"),
        ("http://224.0.0.1/x", "224.0.0.1 is a multicast address"),
        ("http://0.0.0.0/x", "0.0.0.0 is an unspecified address"),
        ("http://240.0.0.1/x", "240.0.0.1 is a reserved address"),
    ],
)
def test_private_addresses_are_refused_without_a_connection(settings, connections, url, said):
    settings.FETCH_ALLOW_PRIVATE = False

    failure = refusal(url)

    assert failure == f"{url}: refused: {said} (set FETCH_ALLOW_PRIVATE to allow it)"
    assert connections == []


def resolve(monkeypatch, names):
    """Make getaddrinfo answer `names` ({host: [address, ...]}), as a DNS server could."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host in names:
            return [
                info for address in names[host] for info in real(address, port, *args, **kwargs)
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_a_name_with_any_private_address_is_refused(settings, monkeypatch, connections):
    settings.FETCH_ALLOW_PRIVATE = False
    resolve(monkeypatch, {"status.example": ["192.0.43.10", "10.0.0.1"]})

    failure = refusal("https://status.example/history.json")

    assert failure == (
        "https://status.example/history.json: refused: status.example resolves to 10.0.0.1, "
        "a private address (set FETCH_ALLOW_PRIVATE to allow it)"
    )
    assert connections == []


def test_the_connection_goes_to_the_checked_address_under_the_real_name(
    httpserver, fetch_locally, monkeypatch, connections
):
    # Were the name resolved again at connect time, the connection would be made to the name,
    # and a DNS answer changed in between could send it elsewhere.
    resolve(monkeypatch, {"status.example": ["127.0.0.1"]})
    httpserver.expect_request("/x").respond_with_data("ok")

    fetched = fetch(f"http://status.example:{httpserver.port}/x")

    assert fetched.body == b"ok"
    assert connections == [("127.0.0.1", httpserver.port)]
    assert httpserver.log[0][0].headers["Host"] == f"status.example:{httpserver.port}"


def test_an_unknown_host_and_a_closed_port_fail_plainly(fetch_locally):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    closed = f"http://127.0.0.1:{port}/x"

    unknown = refusal("http://nowhere.invalid/x")
    refused = refusal(closed)

    assert unknown == (
        "http://nowhere.invalid/x: could not find the host nowhere.invalid (no address in DNS)"
    )
    assert refused == f"{closed}: refused the connection (nothing listens there)"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("ftp://example.com/x", "refused: only http and https URLs are fetched (this one is ftp:)"),
        ("file:///etc/passwd", "refused: only http and https URLs are fetched (this one is file:)"),
        ("example.com/x", "refused: only http and https URLs are fetched (this one has none)"),
        ("http:///x", "refused: the URL has no host"),
        ("http://user:secret@example.com/", "refused: the URL carries a user name or password"),
    ],
)
def test_only_plain_http_and_https_urls_are_fetched(settings, connections, url, said):
    failure = refusal(url)

    assert failure == f"{url}: {said}"
    assert connections == []


@pytest.fixture(scope="session")
def certificates(tmp_path_factory):
    """A throwaway CA and a certificate it signed for status.example (openssl CLI)."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    (folder / "san.cnf").write_text("subjectAltName=DNS:status.example\n")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for command in [
        ["req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]
        + ["-subj", "/CN=Test CA", "-addext", "basicConstraints=critical,CA:TRUE"],
        ["req", *key, "-keyout", "site.key", "-out", "site.csr", "-subj", "/CN=status.example"],
        ["x509", "-req", "-in", "site.csr", "-CA", "ca.pem", "-CAkey", "ca.key"]
        + ["-CAcreateserial", "-out", "site.pem", "-days", "2", "-extfile", "san.cnf"],
    ]:
        subprocess.run([openssl, *command], cwd=folder, check=True, capture_output=True)
    return folder


@pytest.fixture
def tls_server(certificates, monkeypatch):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates / "site.pem", certificates / "site.key")
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    # The client trusts the throwaway CA instead of the public roots.
    trusting = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    monkeypatch.setattr(fetching, "_ssl_context", lambda: trusting)
    yield server
    server.clear()
    server.stop()


def test_https_is_verified_against_the_real_name_not_the_address(
    tls_server, fetch_locally, monkeypatch, connections
):
    resolve(monkeypatch, {"status.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    tls_server.expect_request("/x").respond_with_data("secure")
    other = f"https://other.example:{tls_server.port}/x"

    fetched = fetch(f"https://status.example:{tls_server.port}/x")
    failure = refusal(other)

    assert fetched.body == b"secure"
    assert connections == [("127.0.0.1", tls_server.port)] * 2
    assert failure == (
        f"{other}: its certificate could not be verified "
        "(Hostname mismatch, certificate is not valid for 'other.example'.)"
    )
    assert len(tls_server.log) == 1
