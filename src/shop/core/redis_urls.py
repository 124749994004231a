"""Redis URLs beyond one server: a master found through Redis Sentinel, or a Redis Cluster.

    redis+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/SERVICE[/DB][?sentinel_password=...]

lists the sentinels to ask (port 26379 unless given), the name of the master they watch, and the
database (0 unless given). USER and PASSWORD are the master's; `sentinel_password` is for the
sentinels when they ask for one. The same URL serves the cache and rate limits (redis-py) and,
translated by `kombu_broker`, the Celery broker (kombu's `sentinel://` transport).

    redis+cluster://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]

lists some nodes of a Redis Cluster (port 6379 unless given); the client learns the rest from
them. A cluster has only database 0, and Celery cannot use one as its broker.

A plain `redis://`, `rediss://`, `valkey://` or `unix://` URL names one server and is used as it is.
"""

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

SENTINEL_SCHEME = "redis+sentinel"
CLUSTER_SCHEME = "redis+cluster"
DEFAULT_SENTINEL_PORT = 26379
DEFAULT_PORT = 6379


@dataclass(frozen=True, slots=True)
class SentinelUrl:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None


@dataclass(frozen=True, slots=True)
class ClusterUrl:
    nodes: tuple[tuple[str, int], ...]
    username: str | None = None
    password: str | None = None


def is_sentinel_url(url: str) -> bool:
    return url.startswith(f"{SENTINEL_SCHEME}://")


def is_cluster_url(url: str) -> bool:
    return url.startswith(f"{CLUSTER_SCHEME}://")


def parse_cluster_url(url: str) -> ClusterUrl:
    """The parts of a `redis+cluster://` URL; ValueError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme != CLUSTER_SCHEME:
        raise ValueError(f"a Cluster URL starts with {CLUSTER_SCHEME}://")
    if parts.path.strip("/") not in ("", "0"):
        raise ValueError("a Redis Cluster has only database 0")
    if parts.query:
        raise ValueError(f"unknown Cluster URL option: {parts.query}")
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    return ClusterUrl(
        nodes=tuple(_host_port(host, DEFAULT_PORT) for host in hosts.split(",")),
        username=unquote(username) or None,
        password=unquote(password) or None,
    )


def parse_sentinel_url(url: str) -> SentinelUrl:
    """The parts of a `redis+sentinel://` URL; ValueError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        raise ValueError(f"a Sentinel URL starts with {SENTINEL_SCHEME}://")
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    sentinels = tuple(_host_port(host, DEFAULT_SENTINEL_PORT) for host in hosts.split(","))
    path = [segment for segment in parts.path.split("/") if segment]
    if not path or len(path) > 2:
        raise ValueError("a Sentinel URL names the master: redis+sentinel://host:26379/mymaster[/db]")
    if len(path) == 2 and not path[1].isdigit():
        raise ValueError(f"the database must be a number, not {path[1]!r}")
    query = parse_qs(parts.query)
    unknown = set(query) - {"sentinel_password"}
    if unknown:
        raise ValueError(f"unknown Sentinel URL option: {', '.join(sorted(unknown))}")
    return SentinelUrl(
        sentinels=sentinels,
        service=unquote(path[0]),
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_password=query.get("sentinel_password", [None])[-1],
    )


def _host_port(text: str, default_port: int) -> tuple[str, int]:
    if not text:
        raise ValueError("the URL lists at least one host")
    if text.startswith("["):  # [IPv6]:port
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, _, port_text = text.partition(":")
    if not host or (port_text and not port_text.isdigit()):
        raise ValueError(f"not a host[:port]: {text!r}")
    return host, int(port_text) if port_text else default_port


def kombu_broker(url: str | None) -> tuple[str | None, dict[str, object]]:
    """The broker URL and transport options for kombu: a Sentinel URL becomes its `sentinel://` form."""
    if url is None or not is_sentinel_url(url):
        return url, {}
    sentinel = parse_sentinel_url(url)
    userinfo = ""
    if sentinel.username or sentinel.password:
        userinfo = f"{quote(sentinel.username or '', safe='')}:{quote(sentinel.password or '', safe='')}@"
    hosts = [f"[{host}]" if ":" in host else host for host, _ in sentinel.sentinels]
    broker = ";".join(
        f"sentinel://{userinfo}{host}:{port}/{sentinel.db}"
        for host, (_, port) in zip(hosts, sentinel.sentinels, strict=True)
    )
    options: dict[str, object] = {"master_name": sentinel.service}
    if sentinel.sentinel_password:
        options["sentinel_kwargs"] = {"password": sentinel.sentinel_password}
    return broker, options
