"""The swarm layer under mocks: command order and text, advertise addresses, labels, secrets, destroy."""
import hashlib
import shlex

import pytest
import yaml

from components import steps
from tests.config_helpers import PRIVATE_KEY, PUBLIC_KEY
from tests.harness import edit_script, is_secret

CMD = "command:remote:Command"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFTuUyvEVjtTWSqY5djgqilgnuNeuCWaecAv0KRTt73+"
OWN_KEY = {"sshPublicKey": PUBLIC_KEY, "sshPrivateKey": PRIVATE_KEY}


def parsed(command_text):
    """(script name, script text, args) of a `sudo -n bash -c '<text>' name args...` command."""
    words = shlex.split(command_text)
    assert words[:4] == ["sudo", "-n", "bash", "-c"], words[:4]
    return words[5], words[4], words[6:]


def step(run, name):
    return parsed(run.get(name, CMD).inputs["create"])


def public_ip(run, node):
    return next(r["publicIp"] for r in run.outputs["nodes"] if r["name"] == node)


def secret_strings(value, inside=False):
    """(string, is inside a secret) for every string in a raw input tree."""
    if is_secret(value):
        yield from secret_strings(value["value"], True)
    elif isinstance(value, dict):
        for v in value.values():
            yield from secret_strings(v, inside)
    elif isinstance(value, list):
        for v in value:
            yield from secret_strings(v, inside)
    elif isinstance(value, str):
        yield value, inside


def test_scripts_in_commands_are_the_files(program):
    run = program()
    for cmd in run.of_type(CMD):
        for key in ("create", "delete"):
            if cmd.inputs.get(key):
                name, text, _ = parsed(cmd.inputs[key])
                assert text == steps.script_text(name)  # the file, its includes expanded


def test_one_init_on_the_control_manager_advertising_its_public_ip(program):
    run = program()
    inits = [c for c in run.of_type(CMD) if "create" in c.inputs and parsed(c.inputs["create"])[0] == "swarm-init"]
    assert [c.name for c in inits] == ["swarm-init"]
    name, text, args = step(run, "swarm-init")
    assert args == [public_ip(run, "azure-swarm-manager"), "-"]  # no other manager to find a swarm at
    assert 'docker swarm init --advertise-addr "$advertise" --listen-addr 0.0.0.0:2377' in text
    assert "docker info --format '{{.Swarm.Cluster.ID}}'" in text  # prints the swarm's id
    assert inits[0].inputs["connection"]["host"] == public_ip(run, "azure-swarm-manager")
    assert "delete" not in inits[0].inputs  # leaving is each node's own join's business


def test_every_node_joins_advertising_its_own_public_ip(program):
    run = program()
    joins = [c for c in run.of_type(CMD) if "create" in c.inputs and parsed(c.inputs["create"])[0] == "swarm-join"]
    assert sorted(c.name for c in joins) == sorted(f"{r['name']}-join" for r in run.outputs["nodes"])
    manager = f"{public_ip(run, 'azure-swarm-manager')}:2377"
    for join in joins:
        node = join.name.removesuffix("-join")
        _, text, args = parsed(join.inputs["create"])
        # through any other manager: one alone here (the control manager's own join has none: it made the swarm)
        assert args == [public_ip(run, node), "-" if node == "azure-swarm-manager" else manager]
        assert join.inputs["connection"]["host"] == public_ip(run, node)
        # through the Engine API, the token in the body on stdin (never on a command line)
        assert '"ListenAddr":"0.0.0.0:2377","AdvertiseAddr":"%s"' in text and "http://localhost/swarm/join" in text
        role = next(r["role"] for r in run.outputs["nodes"] if r["name"] == node)
        assert join.inputs["stdin"] == f"SWMTKN-1-mock-{'manager' if role == 'manager' else 'worker'}-token\n"


def test_joins_wait_for_the_tokens_never_for_each_other(program):
    run = program()
    init, tokens = run.get("swarm-init"), run.get("swarm-tokens")
    joins = [c for c in run.of_type(CMD) if c.name.endswith("-join")]
    for join in joins:
        node = join.name.removesuffix("-join")
        assert run.depends_on(join, tokens) and run.depends_on(join, init)
        assert run.depends_on(join, run.get(f"{node}-docker"))
        assert not any(run.depends_on(join, other) for other in joins if other is not join)
    assert run.depends_on(init, run.get("azure-swarm-manager-docker"))
    assert run.depends_on(tokens, init)


def test_docker_install_waits_for_the_machine(program):
    run = program()
    assert run.depends_on(run.get("azure-swarm-worker-1-docker"), run.get("azure-swarm-worker-1-vm"))
    assert run.depends_on(run.get("google-cloud-worker-1-docker"), run.get("google-cloud-worker-1-vm"))
    name, text, args = step(run, "azure-swarm-worker-1-docker")
    assert "cloud-init status --wait" in text and "DPkg::Lock::Timeout" in text


def test_docker_is_pinned_and_speaks_to_the_weave_plugin(program):
    """docker-ce is installed at exactly the configured version and held; with Weave the daemon's
    minimum API is lowered to the plugin's 1.26 (Engine 29 refuses it otherwise)."""
    args = step(program(), "azure-swarm-worker-1-docker")[2]
    assert args == ["docker-ce", "28.5.2", "ubuntu", "1.26"]
    _, text, _ = step(program(), "azure-swarm-worker-1-docker")
    assert 'apt_get install "docker-ce=$exact" "docker-ce-cli=$exact" containerd.io' in text
    assert "apt-mark hold docker-ce docker-ce-cli containerd.io" in text and "apt-mark hold docker.io" in text
    assert "Environment=DOCKER_MIN_API_VERSION=%s" in text and "${UBUNTU_CODENAME:-$VERSION_CODENAME}" in text
    assert step(program(dockerVersion="29.1.3"), "azure-swarm-worker-1-docker")[2][1] == "29.1.3"
    overlay = step(program(dockerInstall="docker.io", network={"driver": "overlay"}), "azure-swarm-worker-1-docker")
    assert overlay[2] == ["docker.io", "-", "ubuntu", "-"]


def pinned(reference: str) -> str:
    """The harness's weave-pin stdout for a tag: the reference with a digest of its own."""
    return f"{reference}@sha256:{hashlib.sha256(reference.encode()).hexdigest()}"


def test_weave_plugin_on_every_node_once_it_is_in_the_swarm(program):
    run = program()
    plugins = {c.name.removesuffix("-weave"): c for c in run.of_type(CMD) if c.name.endswith("-weave")}
    assert sorted(plugins) == sorted(r["name"] for r in run.outputs["nodes"])
    control = "azure-swarm-manager"
    # one pin for the stack, on the control manager as soon as its Docker runs (beside swarm-init)
    pin = run.get("swarm-weave-pin", CMD)
    assert pin.inputs["connection"]["host"] == public_ip(run, control)
    assert run.depends_on(pin, run.get(f"{control}-docker")) and not run.depends_on(pin, run.get("swarm-init"))
    assert step(run, "swarm-weave-pin")[2] == ["weaveworks/net-plugin:latest_release"]
    for node, plugin in plugins.items():
        # after its join; the control manager's after swarm-init put it in the swarm, not after its own
        # `-join` (a check that waits for the tokens): the network on it is made while the others join
        assert run.depends_on(plugin, run.get("swarm-init"))
        assert run.depends_on(plugin, run.get(f"{node}-join")) == (node != control)
        assert run.depends_on(plugin, run.get("swarm-tokens")) == (node != control)
        _, text, args = parsed(plugin.inputs["create"])
        assert args == [pinned("weaveworks/net-plugin:latest_release"), "172.30.0.0/16", "1376"]
        assert run.depends_on(plugin, pin)
        assert plugin.inputs["connection"]["host"] == public_ip(run, node)
    _, text, _ = step(run, "azure-swarm-worker-1-weave")
    install, set_, enable = (text.index(s) for s in ("plugin install --grant-all-permissions --disable --alias",
                                                      "if ! err=$(set_env)", "plugin enable"))
    assert install < set_ < enable
    # set through the Engine API, the password in the body on stdin (never on a command line)
    assert '["IPALLOC_RANGE=%s","WEAVE_MTU=%s","WEAVE_PASSWORD=%s"]' in text and '/plugins/$plugin/set' in text


def test_weave_subnet_and_plugin_come_from_config(program):
    run = program(network={"subnet": "10.32.0.0/12", "weavePlugin": "rajchaudhuri/net-plugin:2.9.0"})
    assert step(run, "swarm-weave-pin")[2] == ["rajchaudhuri/net-plugin:2.9.0"]
    assert step(run, "azure-swarm-worker-2-weave")[2] == [pinned("rajchaudhuri/net-plugin:2.9.0"), "10.32.0.0/12",
                                                          "1376"]
    assert run.get("flink-net", "docker:index/network:Network").inputs["driver"] == "rajchaudhuri/net-plugin:2.9.0"


def test_a_plugin_pinned_in_the_config_is_installed_as_given_and_named_without_its_digest(program):
    given = "rajchaudhuri/net-plugin:2.9.0@sha256:" + "e" * 64
    run = program(network={"weavePlugin": given})
    assert step(run, "azure-swarm-worker-2-weave")[2][0] == given  # weave-pin.sh prints it as it is
    assert run.get("flink-net", "docker:index/network:Network").inputs["driver"] == "rajchaudhuri/net-plugin:2.9.0"


def test_overlay_has_no_plugin(program):
    run = program(network={"driver": "overlay"})
    assert not [c for c in run.of_type(CMD) if c.name.endswith(("-weave", "-weave-pin"))]
    assert not [p for p in run.of_type("random:index/randomPassword:RandomPassword") if "weave" in p.name]


def test_tokens_and_weave_password_are_secret_everywhere(program):
    run = program()
    tokens = run.get("swarm-tokens")
    assert tokens.inputs["logging"] == "stderr"  # stdout (the tokens) never reaches the log
    password = [p for p in run.of_type("random:index/randomPassword:RandomPassword") if p.name == "weave-password"]
    assert len(password) == 1
    leaked = []
    for res in run.resources:
        for text, inside in secret_strings(res.raw):
            if ("SWMTKN-1-mock" in text or "mock-" in text) and not inside:
                leaked.append((res.name, text[:40]))
    assert leaked == []
    joins = [c for c in run.of_type(CMD) if c.name.endswith(("-join", "-weave"))]
    assert joins and all(is_secret(c.raw["stdin"]) for c in joins)
    for c in run.of_type(CMD):
        assert "SWMTKN-1-mock" not in c.inputs.get("create", "") + c.inputs.get("delete", "")
        assert is_secret(c.raw["connection"])  # it carries the private key
    assert all("SWMTKN" not in str(v) for k, v in run.outputs.items() if k not in run.secret_outputs)


def test_given_weave_password_is_used(program):
    run = program(secrets=["weavePassword"], weavePassword="correct-horse")
    assert not [p for p in run.of_type("random:index/randomPassword:RandomPassword") if "weave" in p.name]
    plugin = run.get("azure-swarm-worker-1-weave")
    assert is_secret(plugin.raw["stdin"]) and plugin.inputs["stdin"] == "correct-horse\n"


def test_labels_applied_from_the_manager_in_one_session(program, tmp_path):
    nodes = yaml.safe_load(open(steps.SCRIPTS.parent.parent / "config/topologies/blog.yaml"))["nodes"]
    nodes[2]["labels"] = {"disk": "ssd"}
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"nodes": nodes}))
    run = program(topology=str(path))
    (labels,) = [c for c in run.of_type(CMD) if c.name.endswith("-labels")]
    assert labels.name == "swarm-labels"
    assert labels.inputs["connection"]["host"] == public_ip(run, "azure-swarm-manager")
    name, text, args = parsed(labels.inputs["create"])
    assert name == "node-labels" and "xargs -P 8" in text
    pairs = dict(arg.split("=", 1) for arg in args)
    by_name = {dict(kv.split("=") for kv in labels_.split(","))["name"]: (node_id, labels_)
               for node_id, labels_ in pairs.items()}
    assert sorted(by_name) == sorted(r["name"] for r in run.outputs["nodes"])
    for node, (node_id, text_labels) in by_name.items():
        role = next(r["role"] for r in run.outputs["nodes"] if r["name"] == node)
        cloud = next(r["cloud"] for r in run.outputs["nodes"] if r["name"] == node)
        extra = {"disk": "ssd"} if node.startswith("azure-swarm-worker") else {}
        expect = {"role": role, "cloud": cloud, "name": node, **extra}
        assert dict(kv.split("=") for kv in text_labels.split(",")) == expect
        assert node_id == "nodeid-" + hashlib.sha256(f"{node}-join".encode()).hexdigest()[:12]
        assert run.depends_on(labels, run.get(f"{node}-join"))


def test_destroy_drains_demotes_and_leaves(program):
    run = program()
    for node in ["azure-flink-jobmanager", "azure-swarm-worker-1", "google-cloud-worker-1"]:
        member = run.get(f"{node}-member")
        assert "create" not in member.inputs  # nothing to do until the node goes
        assert member.inputs["connection"]["host"] == public_ip(run, "azure-swarm-manager")
        name, text, args = parsed(member.inputs["delete"])
        assert name == "node-remove" and args == ["nodeid-" + hashlib.sha256(f"{node}-join".encode()).hexdigest()[:12]]
        assert text.index("--availability drain") < text.index("node demote") < text.index("node rm")
        assert run.depends_on(member, run.get(f"{node}-join"))  # so it is deleted before the node leaves
        assert parsed(run.get(f"{node}-join").inputs["delete"])[::2] == ("swarm-leave", ["7946"])  # gossip port
    # the control manager's own member: moving control moves it; it never removes the host it runs on
    assert run.get("azure-swarm-manager-member").inputs["connection"]["host"] == public_ip(run, "azure-swarm-manager")
    assert '"$node" = "$(docker info --format \'{{.Swarm.NodeID}}\')"' in parsed(
        run.get("azure-swarm-manager-member").inputs["delete"])[1]
    assert parsed(run.get("azure-swarm-manager-join").inputs["delete"])[0] == "swarm-leave"


def test_three_managers_join_through_each_other_with_the_manager_token(program, tmp_path):
    nodes = [{"name": "mgr", "cloud": "azure", "role": "manager", "count": 3},
             {"name": "jm", "cloud": "gcp", "role": "jobmanager"},
             {"name": "w", "cloud": "gcp", "role": "worker", "count": 2}]
    path = tmp_path / "ha.yaml"
    path.write_text(yaml.safe_dump({"nodes": nodes}))
    run = program(topology=str(path))
    managers = {m: f"{public_ip(run, m)}:2377" for m in ("mgr-1", "mgr-2", "mgr-3")}
    assert step(run, "swarm-init")[2] == [public_ip(run, "mgr-1"), ",".join(sorted([managers["mgr-2"],
                                                                                      managers["mgr-3"]]))]
    for node in ("mgr-2", "mgr-3"):
        assert run.get(f"{node}-join").inputs["stdin"] == "SWMTKN-1-mock-manager-token\n"
        others = ",".join(sorted(e for m, e in managers.items() if m != node))
        assert step(run, f"{node}-join")[2] == [public_ip(run, node), others]
    for node in ("jm", "w-1", "w-2"):
        assert run.get(f"{node}-join").inputs["stdin"] == "SWMTKN-1-mock-worker-token\n"
        assert step(run, f"{node}-join")[2][1] == ",".join(sorted(managers.values()))  # any manager will do


def test_ssh_dials_are_bounded(program):
    run = program()
    for c in run.of_type(CMD):
        conn = c.inputs["connection"]
        assert conn["dialErrorLimit"] == 30 and conn["perDialTimeout"] == 10
        assert conn["user"] == "ubuntu" and conn["privateKey"].startswith("-----BEGIN OPENSSH")
        assert (c.inputs.get("create") or c.inputs["delete"]).startswith("sudo -n ")  # never waits for a password


def test_static_node_commands_use_its_ssh_settings(program, tmp_path):
    nodes = yaml.safe_load(open(steps.SCRIPTS.parent.parent / "config/topologies/blog.yaml"))["nodes"]
    nodes.append({"name": "lab", "cloud": "static", "role": "worker", "publicIp": "192.0.2.10",
                  "user": "admin", "port": 2222, "hostKey": HOST_KEY})
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"nodes": nodes}))
    run = program(topology=str(path), secrets=["sshPrivateKey"], **OWN_KEY)
    conn = run.get("lab-join").inputs["connection"]
    assert (conn["host"], conn["user"], conn["port"]) == ("192.0.2.10", "admin", 2222)
    assert step(run, "lab-join")[2] == ["192.0.2.10", f"{public_ip(run, 'azure-swarm-manager')}:2377"]
    assert step(run, "lab-docker")[2] == ["docker-ce", "28.5.2", "admin", "1.26"]


def test_a_changed_script_reruns_only_its_commands(program, tmp_path, monkeypatch):
    before = {c.name: c.inputs.get("create") for c in program().of_type(CMD)}
    edit_script(monkeypatch, tmp_path / "scripts", "weave-plugin.sh")
    after = {c.name: c.inputs.get("create") for c in program().of_type(CMD)}
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {name for name in before if name.endswith("-weave")} and len(changed) == 5


def test_manager_outputs(program):
    run = program()
    ip = public_ip(run, "azure-swarm-manager")
    assert run.outputs["managerAddress"] == ip
    assert run.outputs["dockerHost"] == f"ssh://ubuntu@{ip}:22"


@pytest.mark.parametrize("driver", ["weave", "overlay"])
def test_commands_per_node(program, driver):
    run = program(network={"driver": driver})
    on_create = {}
    for c in run.of_type(CMD):
        if "create" in c.inputs:
            on_create[c.inputs["connection"]["host"]] = on_create.get(c.inputs["connection"]["host"], 0) + 1
    weave = driver == "weave"
    # docker, init, tokens, its own join, labels (for all nodes), weave and its pin and the wait for the Flink
    # services, and monitoring's pulls (3), data directories and wait: the same whatever the number of nodes
    assert on_create.pop(public_ip(run, "azure-swarm-manager")) == 6 + 2 * weave + 5
    # docker, join, weave, and the Flink image pull; the jobmanager's node makes its state directory and
    # waits for Flink to serve too
    assert on_create.pop(public_ip(run, "azure-flink-jobmanager")) == 5 + weave
    assert set(on_create.values()) == {3 + weave}
