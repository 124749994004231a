"""redis+sentinel:// and redis+cluster:// URLs: parsing, the clients built from them, the broker."""

from pathlib import Path

import pytest
from redis.asyncio import RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool

from shop.core.cache import close_redis, create_redis
from shop.core.config import ConfigError, load_settings
from shop.core.queue import create_celery
from shop.core.redis_urls import ClusterUrl, SentinelUrl, kombu_broker, parse_cluster_url, parse_sentinel_url


class TestParsing:
    def test_every_part(self) -> None:
        url = "redis+sentinel://app:s%40cret@10.0.0.1:26380,sentinel-b,[::1]:26381/mymaster/3?sentinel_password=pw"
        assert parse_sentinel_url(url) == SentinelUrl(
            sentinels=(("10.0.0.1", 26380), ("sentinel-b", 26379), ("::1", 26381)),
            service="mymaster",
            db=3,
            username="app",
            password="s@cret",
            sentinel_password="pw",
        )

    def test_the_database_defaults_to_0_and_credentials_to_none(self) -> None:
        assert parse_sentinel_url("redis+sentinel://:secret@host/mymaster") == SentinelUrl(
            sentinels=(("host", 26379),), service="mymaster", password="secret"
        )

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("redis+sentinel://host:26379", "names the master"),
            ("redis+sentinel://host:26379/", "names the master"),
            ("redis+sentinel://host:26379/mymaster/zero", "must be a number"),
            ("redis+sentinel://host:26379/mymaster/0/extra", "names the master"),
            ("redis+sentinel://host:port/mymaster", "not a host"),
            ("redis+sentinel://a:1,,b:2/mymaster", "at least one host"),
            ("redis+sentinel:///mymaster", "at least one host"),
            ("redis+sentinel://host/mymaster?master=x", "unknown Sentinel URL option: master"),
            ("redis://host:6379/0", r"starts with redis\+sentinel://"),
        ],
    )
    def test_a_bad_url_says_what_is_wrong(self, url: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            parse_sentinel_url(url)

    def test_a_bad_setting_stops_start_up_naming_it(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match=r"^SHOP_BROKER_URL: .*must be a number"):
            load_settings(_env_file=None, data_dir=tmp_path, broker_url="redis+sentinel://h/mymaster/x")


class TestBroker:
    def test_kombu_gets_one_sentinel_url_per_host_and_the_master_name(self) -> None:
        broker, options = kombu_broker("redis+sentinel://:p%3Aw@a:26379,[::1]:26380/mymaster/2?sentinel_password=s")
        assert broker == "sentinel://:p%3Aw@a:26379/2;sentinel://:p%3Aw@[::1]:26380/2"
        assert options == {"master_name": "mymaster", "sentinel_kwargs": {"password": "s"}}

    def test_other_urls_pass_unchanged(self) -> None:
        assert kombu_broker("amqp://guest:guest@rabbit:5672//") == ("amqp://guest:guest@rabbit:5672//", {})
        assert kombu_broker(None) == (None, {})

    def test_the_celery_app_carries_the_transport_options(self, tmp_path: Path) -> None:
        settings = load_settings(
            _env_file=None, data_dir=tmp_path, redis_url="redis+sentinel://a:26379,b:26379/mymaster/0"
        )
        celery = create_celery(settings)
        assert celery.conf.broker_url == "sentinel://a:26379/0;sentinel://b:26379/0"
        options = celery.conf.broker_transport_options
        assert options["master_name"] == "mymaster"
        assert options["visibility_timeout"] == settings.broker_visibility_timeout


class TestClient:
    async def test_a_sentinel_url_makes_a_client_of_the_named_master(self, tmp_path: Path) -> None:
        settings = load_settings(_env_file=None, data_dir=tmp_path)
        redis = create_redis("redis+sentinel://u:pw@a:26380,b/mymaster/4?sentinel_password=sp", settings)
        try:
            pool = redis.connection_pool
            assert isinstance(pool, SentinelConnectionPool)
            assert pool.service_name == "mymaster"
            assert pool.connection_kwargs["db"] == 4
            assert pool.connection_kwargs["username"] == "u"
            assert pool.connection_kwargs["password"] == "pw"
            kwargs = [sentinel.connection_pool.connection_kwargs for sentinel in pool.sentinel_manager.sentinels]
            assert [(each["host"], each["port"]) for each in kwargs] == [("a", 26380), ("b", 26379)]
            assert kwargs[0]["password"] == "sp"
            assert kwargs[0]["socket_timeout"] == settings.redis_timeout
        finally:
            await close_redis(redis)


class TestCluster:
    def test_nodes_and_credentials(self) -> None:
        assert parse_cluster_url("redis+cluster://:pw@node-a:7000,node-b,[::1]:7002") == ClusterUrl(
            nodes=(("node-a", 7000), ("node-b", 6379), ("::1", 7002)), password="pw"
        )
        assert parse_cluster_url("redis+cluster://node-a:7000/0").nodes == (("node-a", 7000),)

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("redis+cluster://node-a:7000/1", "only database 0"),
            ("redis+cluster://node-a:7000?db=0", "unknown Cluster URL option"),
            ("redis+cluster://", "at least one host"),
        ],
    )
    def test_a_bad_url_says_what_is_wrong(self, url: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            parse_cluster_url(url)

    def test_a_cluster_cannot_be_the_broker(self, tmp_path: Path) -> None:
        # Unset, the broker would be the Redis URL: a cluster there needs a broker of its own.
        with pytest.raises(ConfigError, match=r"^SHOP_BROKER_URL: Celery cannot use a Redis Cluster"):
            load_settings(_env_file=None, data_dir=tmp_path, redis_url="redis+cluster://node-a:7000")
        settings = load_settings(
            _env_file=None, data_dir=tmp_path, redis_url="redis+cluster://node-a:7000", broker_url="amqp://rabbit//"
        )
        assert settings.effective_broker_url == "amqp://rabbit//"

    async def test_a_cluster_url_makes_a_cluster_client(self, tmp_path: Path) -> None:
        settings = load_settings(_env_file=None, data_dir=tmp_path)
        redis = create_redis("redis+cluster://u:pw@node-a:7000,node-b", settings)
        try:
            assert isinstance(redis, RedisCluster)
            manager = redis.nodes_manager
            nodes = [(node.host, node.port) for node in manager.startup_nodes.values()]
            assert sorted(nodes) == [("node-a", 7000), ("node-b", 6379)]
            assert manager.connection_kwargs["username"] == "u"
            assert manager.connection_kwargs["password"] == "pw"
            assert manager.connection_kwargs["socket_timeout"] == settings.redis_timeout
        finally:
            await close_redis(redis)
