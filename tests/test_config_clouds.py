"""The clouds: the providers' settings each cloud's nodes need, what a cloud holds, and quota warnings."""
from components import config
from tests.config_helpers import BLOG, OWN_KEY, PROVIDERS, parse, refused, static  # noqa: F401 (parse: a fixture)


def test_azure_nodes_need_a_location(parse):
    refused(parse, "azure-native:location", "None", providers=dict(PROVIDERS, **{"azure-native:location": None}))


def test_gcp_nodes_need_a_project(parse):
    refused(parse, "gcp:project", "None", providers=dict(PROVIDERS, **{"gcp:project": None}))


def test_gcp_zone_outside_region(parse):
    refused(parse, "gcp:zone", "europe-west1-b", providers=dict(PROVIDERS, **{"gcp:region": "us-east1"}))


def test_static_only_topology_needs_no_cloud_config(parse):
    nodes = [static(name, role, f"192.0.2.{index}")
             for index, (name, role) in enumerate([("m", "manager"), ("j", "jobmanager"), ("w", "worker")], 1)]
    settings = parse(nodes=nodes, providers={}, **OWN_KEY)
    assert [node.cloud for node in settings.nodes] == ["static"] * 3


# Capacity -----------------------------------------------------------------------------------------

def test_more_nodes_than_the_subnet_holds(parse, monkeypatch):
    monkeypatch.setattr(config, "read_yaml", lambda path, field, *fix, real=config.read_yaml: (
        dict(real(path, field), gcp=dict(real(path, field)["gcp"], subnet="10.20.0.0/29"))
        if path == config.DEFAULTS_FILE else real(path, field, *fix)))
    nodes = BLOG[:3] + [dict(BLOG[3], count=5)]
    refused(parse, "flink-swarm:topology", 5, nodes=nodes)
    assert len(parse(nodes=BLOG[:3] + [dict(BLOG[3], count=4)]).of_cloud("gcp")) == 4  # 8 - 4 reserved


def test_azure_nsg_source_limit(parse):
    nodes = BLOG[:2] + [dict(BLOG[2], count=498)]
    message = refused(parse, "flink-swarm:topology", 500, nodes=nodes)
    assert "4000" in message
    assert len(parse(nodes=BLOG[:2] + [dict(BLOG[2], count=400)]).nodes) == 402


def test_nsg_limit_counts_the_admin_cidrs(parse):
    """6 cluster rules x (640 nodes + 2 subnets) fit in 4000; with 200 adminCidrs on the admin rule (SSH's;
    Flink's REST API has none) they do not. Monitoring off (with it: a seventh cluster rule, two admin ones)."""
    nodes = BLOG[:2] + [dict(BLOG[2], count=637)] + BLOG[3:]
    plain = {"driver": "overlay", "encrypted": False}
    off = {"enabled": False}
    assert len(parse(nodes=nodes, network=plain, monitoring=off).nodes) == 640
    many = [f"198.51.{index // 256}.{index % 256}/32" for index in range(200)]
    message = refused(parse, "flink-swarm:topology", 640, nodes=nodes, network=plain, adminCidrs=many, monitoring=off)
    assert "at most 631 nodes" in message  # (4000 - 1 x 200) // 6 - 2
    message = refused(parse, "flink-swarm:topology", 640, nodes=nodes, network=plain, adminCidrs=many)
    assert "at most 483 nodes" in message  # (4000 - 3 x 200) // 7 - 2


# Quota warnings -----------------------------------------------------------------------------------

def test_azure_public_ip_quota_is_a_warning(parse):
    assert parse().warnings == ()
    settings = parse(nodes=BLOG[:2] + [dict(BLOG[2], count=9)] + BLOG[3:])
    assert len(settings.warnings) == 1 and "11 Azure nodes" in settings.warnings[0]
    assert "default quota is 10 per region" in settings.warnings[0]
