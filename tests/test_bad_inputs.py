"""The bad-input corpus (issue 31): every bad input is refused before anything is registered with one
clean `ConfigError` that names the exact field, shows the value (or a placeholder, never a secret, a
key or a file's content) and says the fix. One table, one case a row; a few rows run through the
whole program too, which must register nothing."""
import base64
import os

import pytest

from components.config import ConfigError
from tests.config_helpers import BLOG, OWN_KEY, PUBLIC_KEY, parse, static  # noqa: F401 (parse: a fixture)

OWN = "flink-swarm:"
TOPOLOGY = f"{OWN}topology"
SETTINGS = f"{OWN}flink.settings"
LOCAL = [{"name": "local-manager", "cloud": "local", "role": "manager"},
         {"name": "local-jobmanager", "cloud": "local", "role": "jobmanager"},
         {"name": "local-worker", "cloud": "local", "role": "worker", "count": 2}]
WITH_STATIC = BLOG + [static()]
SECRET_TEXT = "hunter2-do-not-print"  # a secret's content: no message may show it
RSA_BLOB = base64.b64encode(b"\0\0\0\x07ssh-rsa\0\0\0\x03\x01\x00\x01\0\0\x01\x01\x00" + b"\xab" * 256).decode()
RSA_1024 = base64.b64encode(b"\0\0\0\x07ssh-rsa\0\0\0\x03\x01\x00\x01\0\0\0\x81\x00" + b"\xab" * 128).decode()
ED25519_BLOB = PUBLIC_KEY.split()[1]
HIDDEN = "value not shown"
PATH = "<path>"  # stands for the case's topology path in `shown`
CASES = []


def case(name, field, shown, fix, **kwargs):
    """One row: parse(**kwargs) is refused naming `field`, showing `shown`, with `fix` after "Fix:"."""
    CASES.append(pytest.param(field, shown, fix, kwargs, id=name))


# Unknown keys: the stack's own, an object's fields, a topology entry's fields; each with did-you-mean --
for key, meant in [("sshprivatekey", "sshPrivateKey"), ("sshpublickey", "sshPublicKey"), ("adminCidr", "adminCidrs"),
                   ("namprefix", "namePrefix"), ("dockerversion", "dockerVersion"), ("weavepassword", "weavePassword"),
                   ("network.subnet", "network"), ("toplogy", "topology"), ("controlmanager", "controlManager"),
                   ("worldOpenAdmins", "worldOpenAdmin"), ("dockerinstal", "dockerInstall"), ("sshuser", "sshUser")]:
    case(f"unknown-key-{key}", f"{OWN}{key}", HIDDEN, f"did you mean {meant!r}?", **{key: SECRET_TEXT})
case("unknown-key-no-match", f"{OWN}zzz", HIDDEN, f"`pulumi config rm {OWN}zzz`", zzz=SECRET_TEXT)
for obj, key, meant in [("network", "drvier", "driver"), ("network", "weavemtu", "weaveMtu"),
                        ("flink", "taskslots", "taskSlots"), ("flink", "setting", "settings"),
                        ("flink", "jobManagerMemory", "jobmanagerMemory"), ("ssh", "dialAttempt", "dialAttempts"),
                        ("local", "sshport", "sshPort"), ("local", "dockerhost", "dockerHost")]:
    case(f"unknown-field-{obj}.{key}", f"{OWN}{obj}.{key}", "1", f"did you mean {meant!r}?", **{obj: {key: 1}})
for key, meant in [("publicIP", "publicIp"), ("hostkey", "hostKey"), ("lables", "labels"), ("rol", "role"),
                   ("Count", "count"), ("privateip", "privateIp")]:
    case(f"unknown-node-field-{key}", f"{TOPOLOGY} nodes[4].{key}", "'x'", f"did you mean {meant!r}?",
         nodes=BLOG + [dict(static(), **{key: "x"})], **OWN_KEY)

# namePrefix --------------------------------------------------------------------------------------------
case("name-prefix-empty", f"{OWN}namePrefix", "''", f"`pulumi config rm {OWN}namePrefix`", namePrefix="")
for value in ("-dev", "Dev", "x" * 20, "dev\n", 5, ["dev"]):
    case(f"name-prefix-{value!r:.12}", f"{OWN}namePrefix", repr(value)[:20], "lowercase letters", namePrefix=value)

# flink.settings values the image's entrypoint would mangle --------------------------------------------
for label, value in [("leading-dash", "-n"), ("trailing-colon", "a:"), ("control-char", "a\x01b"), ("del", "a\x7fb"),
                     ("nul", "a\x00b"), ("too-long", "x" * 1025), ("space", "a b"), ("dollar", "$HOME"),
                     ("glob", "*.jar"), ("bracket", "a[1]"), ("empty", ""), ("newline", "1s\nrest.port: 1")]:
    case(f"flink-value-{label}", f"{SETTINGS}.pipeline.name", repr(value)[:25], "write the value without them",
         flink={"settings": {"pipeline.name": value}})
for label, value in [("list", ["a", "b"]), ("object", {"a": 1})]:
    case(f"flink-value-{label}", f"{SETTINGS}.pipeline.name", repr(value), "write one value",
         flink={"settings": {"pipeline.name": value}})
for label, key in [("space", "a b"), ("number", 5), ("too-long", "a." * 101 + "b"), ("dollar", "a$b")]:
    case(f"flink-key-{label}", SETTINGS, repr(key)[:25], "write the key as Flink's docs name it",
         flink={"settings": {key: "1"}})

# flink.settings keys the program writes or that break its cluster, whatever their case ---------------
for key in ("rest.bind-port", "REST.BIND-PORT", "rest.address", "rest.bind-address", "Rest.Port", "jobmanager.bind-host",
            "taskmanager.bind-host", "taskmanager.host", "blob.server.port", "Blob.Server.Port", "query.server.port",
            "jobmanager.rpc.address", "jobmanager.rpc.port", "jobmanager.rpc.bind-port", "taskmanager.rpc.port",
            "taskmanager.rpc.bind-port", "taskmanager.data.port", "taskmanager.data.bind-port"):
    case(f"flink-own-{key}", f"{SETTINGS}.{key}", "'6000'", "port table", flink={"settings": {key: "6000"}})
for key, fix in [("taskmanager.numberOfTaskSlots", "flink.taskSlots"), ("TASKMANAGER.NUMBEROFTASKSLOTS", "taskSlots"),
                 ("taskmanager.memory.process.size", "taskmanagerMemory"),
                 ("jobmanager.memory.process.size", "jobmanagerMemory"), ("Parallelism.Default", "flink.parallelism")]:
    case(f"flink-own-{key}", f"{SETTINGS}.{key}", "'6000'", fix, flink={"settings": {key: "6000"}})
for key in ("high-availability.cluster-id", "high-availability.zookeeper.path.root", "High-Availability.Type",
            "high-availability", "high-availability.storageDir", "high-availability.zookeeper.client.acl",
            "high-availability.jobmanager.port", "HIGH-AVAILABILITY.ZOOKEEPER.QUORUM"):
    case(f"flink-ha-{key}", f"{SETTINGS}.{key}", "'6000'", "ZooKeeper high availability itself",
         flink={"settings": {key: "6000"}})

# flink.settings secrets: refused without showing the value (security.delegation.tokens.* is not one) --
for key in ("fs.azure.sas.flink.acct.blob.core.windows.net", "fs.azure.account.key.acct.dfs.core.windows.net",
            "FS.AZURE.SAS.token", "metrics.reporter.dghttp.apikey", "metrics.reporter.dghttp.api-key",
            "s3.secret-key", "fs.oss.accessKeySecret", "security.ssl.keystore-password",
            "SECURITY.SSL.TRUSTSTORE-PASSWORD", "metrics.reporter.influxdb.password", "fs.gs.auth.private.key",
            "gs.auth.token", "security.kerberos.jaas.config", "metrics.reporter.otel.http-headers",
            "metrics.reporter.prom.basic-auth", "x.auth-params", "env.java.opts.api_key"):
    case(f"flink-secret-{key}", f"{SETTINGS}.{key}", HIDDEN, "leave it out", flink={"settings": {key: SECRET_TEXT}})

# checkpoint storage and directories that cannot work with flink.state ---------------------------------
for label, state, settings, key, shown in [
    ("node-filesystem", "node", {"state.checkpoint-storage": "filesystem"}, "state.checkpoint-storage", "filesystem"),
    ("node-filesystem-new-name", "node", {"execution.checkpointing.storage": "FILESYSTEM"},
     "execution.checkpointing.storage", "FILESYSTEM"),
    ("node-filesystem-savepoints-on-file", "node", {"state.checkpoint-storage": "filesystem",
                                                    "state.checkpoints.dir": "s3://mine/cp"},
     "state.checkpoint-storage", "filesystem"),
    ("gcs-file-dir", "gcs", {"state.checkpoints.dir": "file:///tmp/cp"}, "state.checkpoints.dir", "file:///tmp/cp"),
    ("gcs-bare-path", "gcs", {"state.savepoints.dir": "/tmp/sp"}, "state.savepoints.dir", "/tmp/sp"),
    ("gcs-azure-scheme", "gcs", {"execution.checkpointing.dir": "abfss://c@a.dfs.core.windows.net/cp"},
     "execution.checkpointing.dir", "abfss://"),
    ("azure-gs-scheme", "azure", {"execution.checkpointing.savepoint-dir": "gs://b/sp"},
     "execution.checkpointing.savepoint-dir", "gs://b/sp"),
    ("azure-jobmanager-storage", "azure", {"state.checkpoint-storage": "jobmanager"}, "state.checkpoint-storage",
     "jobmanager"),
    ("gcs-jobmanager-storage", "gcs", {"execution.checkpointing.storage": "JobManager"},
     "execution.checkpointing.storage", "JobManager"),
    ("unknown-storage", "node", {"state.checkpoint-storage": "rocksdb"}, "state.checkpoint-storage", "rocksdb"),
]:
    case(f"flink-state-{label}", f"{SETTINGS}.{key}", shown, "leave it out" if label != "unknown-storage" else
         "jobmanager or filesystem", flink={"state": state, "settings": settings})

# monitoring: its reporter's options are the program's, durations within bounds, images, types ------------
for key in ("metrics.reporter.prom.factory.class", "METRICS.REPORTER.PROM.PORT"):
    case(f"flink-own-{key}", f"{SETTINGS}.{key}", "'6000'", "flink-swarm:monitoring runs Flink's Prometheus reporter",
         flink={"settings": {key: "6000"}})
for key, values, bounds in [("scrapeInterval", ("4s", "6m", "15", "15 s", "0s", 15), "from 5 to 300 seconds"),
                            ("retention", ("59m", "11y", "15days", "", "-1d"), "from 3600 to 315360000 seconds")]:
    for value in values:
        case(f"monitoring.{key}={value!r}", f"{OWN}monitoring.{key}", repr(value), "write e.g.",
             monitoring={key: value})
for key in ("prometheusImage", "nodeExporterImage", "grafanaImage"):
    case(f"monitoring.{key}-option", f"{OWN}monitoring.{key}", "'--help'", "[registry/]name", monitoring={key: "--help"})
for key, value in [("enabled", "false"), ("grafana", "no"), ("grafna", True), ("enable", False)]:
    fix = "did you mean" if key in ("grafna", "enable") else "true or false"
    case(f"monitoring.{key}={value!r}", f"{OWN}monitoring.{key}", repr(value), fix, monitoring={key: value})
case("monitoring-not-an-object", f"{OWN}monitoring", "False", "key: value pairs", monitoring=False)

# the SQL gateway's endpoint and target are the program's; Spark's settings are checked as Flink's are ------
for key in ("sql-gateway.endpoint.rest.port", "SQL-Gateway.Endpoint.Rest.Address", "execution.target"):
    case(f"flink-own-{key}", f"{SETTINGS}.{key}", "'x'", "leave it out", flink={"settings": {key: "x"}})
case("flink.sqlGateway='yes'", f"{OWN}flink.sqlGateway", "'yes'", "true or false", flink={"sqlGateway": "yes"})
SPARK_SETTINGS = f"{OWN}spark.settings"
for key in ("spark.master", "SPARK.MASTER.UI.PORT", "spark.master.rest.enabled"):
    case(f"spark-own-{key}", f"{SPARK_SETTINGS}.{key}", "'x'", "leave it out", spark={"settings": {key: "x"}})
for key in ("spark.authenticate.secret", "spark.hadoop.fs.azure.account.key.acct.dfs.core.windows.net",
            "spark.ssl.keyPassword"):
    case(f"spark-secret-{key}", f"{SPARK_SETTINGS}.{key}", HIDDEN, "secrets belong in your image",
         spark={"settings": {key: SECRET_TEXT}})
for value, shown in (("a\nb", "'a\\nb'"), ("", "''"), (" ", "' '"), ("x" * 1025, "'xxxx")):
    case(f"spark-value-{value[:5]!r}", f"{SPARK_SETTINGS}.spark.executor.memory", shown, "one line",
         spark={"settings": {"spark.executor.memory": value}})
case("spark-nested-value", f"{SPARK_SETTINGS}.spark.executor", "memory", "write one value",
     spark={"settings": {"spark.executor": {"memory": "1g"}}})
case("spark-bad-key", SPARK_SETTINGS, "'spark executor'", "as Spark's docs name it",
     spark={"settings": {"spark executor": "1"}})
for key, value, fix in [("workerCores", 0, "from 1 to 1024"), ("workerCores", 1025, "from 1 to 1024"),
                        ("workerMemory", "256m", "2048m or 2g"), ("workerMemory", "2tb", "2048m or 2g"),
                        ("enabled", "on", "true or false"), ("image", "--help", "[registry/]name"),
                        ("workerMemmory", "1g", "did you mean")]:
    case(f"spark.{key}={value!r}", f"{OWN}spark.{key}", repr(value), fix,
         spark={key: value})
case("spark-memory-over-the-machine", f"{OWN}spark.workerMemory", "'4096m'", "give Spark at most 2560m",
     spark={"enabled": True, "workerMemory": "4g"})

# numbers out of bounds ----------------------------------------------------------------------------------
for obj, key, values, fix in [
    ("ssh", "dialAttempts", (0, 1001, 10 ** 30, "30", True), "from 1 to 1000"),
    ("ssh", "dialTimeoutSeconds", (0, 601, -5, 1.5), "from 1 to 600"),
    ("flink", "taskSlots", (0, 1025, 2.5, None), "from 1 to 1024"),
    ("flink", "parallelism", (0, 32769, "2"), "from 1 to 32768"),
    ("network", "mtu", (1279, 9001, "1500", 576), "from 1280 to 9000"),
    ("network", "weaveMtu", (1195, 576, -1), "of at least 1196"),
]:
    for value in values:
        case(f"{obj}.{key}={value!r:.10}", f"{OWN}{obj}.{key}", repr(value)[:20], fix, **{obj: {key: value}})
case("network.weaveMtu-above-mtu", f"{OWN}network.weaveMtu", "1400", "at most 1376", network={"weaveMtu": 1400})
for key, values in [("taskmanagerMemory", ("512m", "1023m", "1025g", "0m", "4096", 4096, "2t", "4 g")),
                    ("jobmanagerMemory", ("1023M", "99999999999m", "1g\n", "-1g"))]:
    for value in values:
        case(f"flink.{key}={value!r}", f"{OWN}flink.{key}", repr(value), "write e.g. 4096m or 4g",
             flink={key: value})
for key, value, fix in [("sshPort", 80, "from 1024 to 65535"), ("sshPort", 65536, "from 1024 to 65535"),
                        ("uiPort", 1023, "from 1024 to 65535"), ("uiPort", 2375, "clear of 2375-2377"),
                        ("sshPort", 2374, "clear of 2375-2377"), ("uiPort", 7946, "clear of 2375-2377"),
                        ("uiPort", 2223, "outside that range"), ("sshPort", 65534, "at most 65532"),
                        ("prometheusPort", 2224, "outside that range"), ("grafanaPort", 8081, "own port"),
                        ("prometheusPort", 2376, "clear of 2375-2377"), ("grafanaPort", 80, "from 1024 to 65535")]:
    case(f"local.{key}={value}", f"{OWN}local.{key}", str(value), fix, nodes=LOCAL, adminCidrs=["127.0.0.1/32"],
         local={key: value})

# versions that do not exist in Docker's apt repository --------------------------------------------------
for value in ("latest", "v28", "28.5.2-1~ubuntu.24.04~noble", "28", "28.5", "5:28.5.2", "1.13.1", "28.5.2\n",
              "128.5.2", 28.5):
    case(f"docker-version-{value!r}", f"{OWN}dockerVersion", repr(value), "e.g. 28.5.2", dockerVersion=value)

# container subnets: private, not Docker's own networks, off the nodes' networks -------------------------
for value in ("8.8.8.0/24", "192.0.2.0/24", "11.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "0.0.0.0/0"):
    case(f"network.subnet-public-{value}", f"{OWN}network.subnet", value, "private range",
         network={"subnet": value})
for value, what in [("172.17.0.0/16", "docker0"), ("172.18.5.0/24", "docker_gwbridge"), ("10.0.0.0/16", "ingress"),
                    ("172.16.0.0/12", "docker0")]:
    case(f"network.subnet-docker-{value}", f"{OWN}network.subnet", value, "outside 172.17.0.0/16",
         network={"subnet": value})
case("network.subnet-node-network", f"{OWN}network.subnet", "10.10.0.0/16", "no node's network uses",
     network={"subnet": "10.10.0.0/16"})
for value in ("8.8.8.0/24", "172.17.0.0/24", "127.0.0.0/24"):
    case(f"local.subnet-{value}", f"{OWN}local.subnet", value, "e.g. 172.30.0.0/16", nodes=LOCAL,
         adminCidrs=["127.0.0.1/32"], local={"subnet": value})

# adminCidrs: networks no client is in, and duplicates ---------------------------------------------------
for value in ("127.0.0.1/32", "169.254.169.254/32", "224.0.0.1/32", "240.0.0.0/4", "0.0.0.0/8"):
    case(f"admin-cidr-{value}", f"{OWN}adminCidrs[0]", value, "the public address", adminCidrs=[value])
case("admin-cidr-duplicate", f"{OWN}adminCidrs[1]", "203.0.113.7/32", "list each network once",
     adminCidrs=["203.0.113.7/32", "203.0.113.7/32"])
case("admin-cidr-inside-another", f"{OWN}adminCidrs[1]", "203.0.113.7/32", "list each network once",
     adminCidrs=["203.0.113.0/24", "203.0.113.7/32"])
case("admin-cidr-not-normalised-duplicate", f"{OWN}adminCidrs[1]", "198.51.100.0/24", "list each network once",
     adminCidrs=["198.51.100.0/24", "198.51.100.0/24"])

# keys: decoded, their data must name their type ---------------------------------------------------------
for label, value, shown in [("rsa-labelled-ed25519", f"ssh-ed25519 {RSA_BLOB}", "a key of type 'ssh-ed25519'"),
                            ("ed25519-labelled-rsa", f"ssh-rsa {ED25519_BLOB} me", "a key of type 'ssh-rsa'"),
                            ("truncated", "ssh-ed25519 AAAA", "a key of type 'ssh-ed25519'"),
                            ("private-key", OWN_KEY["sshPrivateKey"], "a private key"),
                            ("two-lines", f"{PUBLIC_KEY}\n{PUBLIC_KEY}", "2 lines"),
                            ("dsa", "ssh-dss AAAAB3NzaC1kc3M= root@lab", "a key of type 'ssh-dss'"),
                            ("rsa-1024", f"ssh-rsa {RSA_1024} me", "a key of type 'ssh-rsa'")]:
    case(f"ssh-public-key-{label}", f"{OWN}sshPublicKey", shown, f"pulumi config set {OWN}sshPublicKey",
         sshPublicKey=value, sshPrivateKey=OWN_KEY["sshPrivateKey"])
for label, value, shown in [("rsa-labelled-ed25519", f"ssh-ed25519 {RSA_BLOB}", "a key of type 'ssh-ed25519'"),
                            ("ed25519-labelled-ecdsa", f"ecdsa-sha2-nistp256 {ED25519_BLOB}",
                             "a key of type 'ecdsa-sha2-nistp256'"),
                            ("truncated", "ssh-ed25519 AAAAC3Nz", "a key of type 'ssh-ed25519'"),
                            ("known-hosts-line-mislabelled", f"192.0.2.10 ssh-rsa {ED25519_BLOB}",
                             "a key of type 'ssh-rsa'"), ("rsa-1024", f"ssh-rsa {RSA_1024}", "a key of type 'ssh-rsa'")]:
    case(f"host-key-{label}", f"{TOPOLOGY} node 'on-prem'.hostKey", shown, "ssh-keyscan",
         nodes=BLOG + [static(hostKey=value)], **OWN_KEY)
for label, value, shown in [("public-key", PUBLIC_KEY, "a public key"), ("text", SECRET_TEXT, "characters"),
                            ("list", [SECRET_TEXT], "a value of type list")]:
    case(f"ssh-private-key-{label}", f"{OWN}sshPrivateKey", shown, f"--secret {OWN}sshPrivateKey",
         sshPublicKey=PUBLIC_KEY, sshPrivateKey=value)

# secrets: stored as secrets, and a Weave password Weave can take -----------------------------------------
case("plain-private-key", f"{OWN}sshPrivateKey", HIDDEN, f"pulumi config set --secret {OWN}sshPrivateKey",
     secret=set(), **OWN_KEY)
case("plain-weave-password", f"{OWN}weavePassword", HIDDEN, f"pulumi config set --secret {OWN}weavePassword",
     secret={"sshPrivateKey"}, weavePassword=SECRET_TEXT)
for label, value in [("empty", ""), ("blank", "   "), ("multi-line", f"{SECRET_TEXT}\nmore"), ("nul", "a\x00b"),
                     ("tab", "a\tb"), ("number", 12345), ("list", [SECRET_TEXT])]:
    case(f"weave-password-{label}", f"{OWN}weavePassword", HIDDEN, "one line", secret={"weavePassword"},
         weavePassword=value)

# topology files: never read unless regular, never quoted ---------------------------------------------
for label in ("directory", "fifo", "dev-zero", "dev-null"):
    case(f"topology-{label}", TOPOLOGY, PATH, "point flink-swarm:topology at a readable YAML file", file=label)
for label, text, fix in [
    ("yaml-syntax", f"nodes:\n  - name: {SECRET_TEXT}\n    role: [manager\n", "correct the YAML syntax"),
    ("yaml-tab", f"nodes:\n\t- {SECRET_TEXT}\n", "correct the YAML syntax"),
    ("yaml-anchor", f"a: &x {SECRET_TEXT}\nnodes: *x\n", "write each value out in full"),
    ("yaml-duplicate", "nodes: []\nnodes: []\n", "keep one of the entries"),
    ("not-utf8", b"nodes: \xff\xfe " + SECRET_TEXT.encode(), "save the file as UTF-8"),
    ("too-large", "#" * (1 << 20) + "\n", "point flink-swarm:topology at a readable YAML file"),
    ("python-tag", f"nodes: !!python/object:os.system {SECRET_TEXT}\n", "correct the YAML syntax"),
]:
    case(f"topology-{label}", TOPOLOGY, PATH, fix, text=text)
for key, meant in [("node", "did you mean 'nodes'?"), ("defaults", "use only: nodes")]:
    case(f"topology-top-level-{key}", f"{TOPOLOGY}.{key}", "[]", meant, text=f"nodes: []\n{key}: []\n")
for value in (["a.yaml"], "", 5, "a\0b"):
    case(f"topology-path-{value!r}", TOPOLOGY, repr(value), f"pulumi config set {TOPOLOGY}", topology=value)

# wrong types everywhere: never a traceback, always the field at fault ----------------------------------
for key, value in [("adminCidrs", {"a": 1}), ("adminCidrs", [["203.0.113.7/32"]]), ("network", ["weave"]),
                   ("flink", "big"), ("ssh", 5), ("local", [1]), ("sshUser", ["ubuntu"]), ("controlManager", ["x"]),
                   ("worldOpenAdmin", "true"), ("dockerInstall", ["docker-ce"]), ("sshPublicKey", {"k": 1})]:
    field = f"{OWN}{key}" + ("[0]" if key == "adminCidrs" and isinstance(value, list) else "")
    shown = {"sshPublicKey": "a value of type dict", "adminCidrs": repr(value[0]) if field.endswith("]") else None}
    case(f"type-{key}={value!r:.16}", field, shown.get(key) or repr(value), "", **{key: value})
for obj, key, value in [("network", "driver", None), ("network", "encrypted", "yes"), ("network", "subnet", 172),
                        ("network", "weavePlugin", ["x"]), ("flink", "python", "true"), ("flink", "image", 5),
                        ("flink", "settings", ["a"]), ("flink", "state", ["node"]), ("local", "dockerHost", 5),
                        ("local", "baseImage", None)]:
    case(f"type-{obj}.{key}={value!r:.10}", f"{OWN}{obj}.{key}" if key != "settings" else SETTINGS, repr(value), "",
         **{obj: {key: value}})
for key, value in [("labels", ["a"]), ("count", "2"), ("name", 5), ("cloud", ["gcp"]), ("role", None)]:
    field = f"{TOPOLOGY} nodes[0].{key}" if key == "name" else f"{TOPOLOGY} node 'azure-swarm-manager'.{key}"
    case(f"type-node-{key}", field, repr(value), "", nodes=[dict(BLOG[0], **{key: value})] + BLOG[1:])
for key, value in [("port", "22"), ("publicIp", 5), ("firewall", "no"), ("user", ["root"])]:
    case(f"type-static-{key}", f"{TOPOLOGY} node 'on-prem'.{key}", repr(value), "", nodes=BLOG + [static(**{key: value})],
         **OWN_KEY)


def _topology_file(tmp_path, kind):
    if kind == "directory":
        return str(tmp_path)
    if kind == "fifo":
        os.mkfifo(tmp_path / "fifo")  # reading it would block forever
        return str(tmp_path / "fifo")
    return "/dev/zero" if kind == "dev-zero" else "/dev/null"


@pytest.mark.parametrize("field, shown, fix, kwargs", CASES)
def test_bad_input_is_refused_with_one_clean_error(parse, tmp_path, field, shown, fix, kwargs):
    kwargs = dict(kwargs)
    if "file" in kwargs:
        kwargs["topology"] = _topology_file(tmp_path, kwargs.pop("file"))
    if "text" in kwargs:
        text = kwargs.pop("text")
        (tmp_path / "bad.yaml").write_bytes(text if isinstance(text, bytes) else text.encode())
        kwargs["topology"] = str(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError) as err:
        parse(**kwargs)
    message = str(err.value)
    assert type(err.value) is ConfigError and "\n" not in message, message
    assert message.startswith(f"{field}: "), message
    assert "(got " in message and (shown.replace(PATH, repr(kwargs.get("topology"))) in message), message
    assert fix in message.split("Fix: ", 1)[1] and len(message.split("Fix: ", 1)[1]) > 10, message
    assert SECRET_TEXT not in message and "b3BlbnNz" not in message and "#####" not in message, message
    assert len(message) < 1000, message


@pytest.mark.parametrize("overrides, secrets, field", [
    ({"sshprivatekey": SECRET_TEXT}, ["sshprivatekey"], f"{OWN}sshprivatekey"),
    (OWN_KEY, [], f"{OWN}sshPrivateKey"),
    ({"weavePassword": SECRET_TEXT}, [], f"{OWN}weavePassword"),
    ({"flink": {"settings": {"Rest.Bind-Port": "9000"}}}, [], f"{SETTINGS}.Rest.Bind-Port"),
])
def test_the_program_registers_nothing_for_a_bad_input(program, overrides, secrets, field):
    with pytest.raises(ConfigError) as err:
        program(secrets=secrets, **overrides)
    assert str(err.value).startswith(f"{field}: ") and SECRET_TEXT not in str(err.value)
    assert err.value.registered == []


def test_the_corpus_covers_every_class():
    assert len(CASES) >= 150


@pytest.mark.parametrize("kwargs", [
    pytest.param({"secret": {"sshPrivateKey", "weavePassword"}, "weavePassword": "correct-horse", **OWN_KEY},
                 id="secrets-stored-as-secrets"),
    pytest.param({"flink": {"settings": {"security.delegation.tokens.enabled": "false"}}}, id="delegation-tokens-switch"),
    pytest.param({"flink": {"settings": {"high-availability.zookeeper.client.session-timeout": 30000}}},
                 id="zookeeper-client-tunable"),
    pytest.param({"flink": {"settings": {"metrics.reporter.mine.port": "9249-9250"}}}, id="reporter-port"),
    pytest.param({"flink": {"settings": {"state.checkpoint-storage": "filesystem", "state.checkpoints.dir": "s3://b/cp",
                                         "execution.checkpointing.savepoint-dir": "s3://b/sp"}}},
                 id="own-filesystem-on-node-state"),
    pytest.param({"flink": {"state": "gcs", "settings": {"state.savepoints.dir": "gs://mine/sp"}}}, id="gcs-dir"),
    pytest.param({"nodes": LOCAL, "adminCidrs": ["127.0.0.1/32"]}, id="loopback-admin-for-local-nodes"),
    pytest.param({"network": {"mtu": 1280, "weaveMtu": 1196}, "ssh": {"dialAttempts": 1000, "dialTimeoutSeconds": 600},
                  "flink": {"taskmanagerMemory": "1g", "jobmanagerMemory": "1024g", "parallelism": 32768}},
                 id="bounds-inclusive"),
    pytest.param({"network": {"subnet": "100.64.0.0/16"}, "namePrefix": "dev-alice", "dockerVersion": "29.1.3"},
                 id="cgnat-subnet-prefix-version"),
    pytest.param({"sshPublicKey": f"ssh-rsa {RSA_BLOB} me", "nodes": BLOG + [static(hostKey=f"ssh-rsa {RSA_BLOB}")]},
                 id="rsa-2048-keys"),
])
def test_near_misses_are_accepted(parse, kwargs):
    assert parse(**kwargs).nodes


def test_the_program_runs_with_its_secrets_stored_as_secrets(program):
    run = program(secrets=["sshPrivateKey", "weavePassword"], weavePassword="correct-horse", **OWN_KEY)
    assert run.resources and "sshPrivateKey" in run.secret_outputs


@pytest.mark.parametrize("key, text, field", [("adminCidrs", "203.0.113.7/32", f"{OWN}adminCidrs"),
                                             ("network", "weave", f"{OWN}network"),
                                             ("worldOpenAdmin", "yes", f"{OWN}worldOpenAdmin")])
def test_an_object_setting_that_is_not_json_is_named(program, key, text, field):
    """`pulumi config set flink-swarm:network weave` (no --path) stores text; it is refused by name."""
    with pytest.raises(ConfigError) as err:
        program(**{key: text})
    assert str(err.value).startswith(f"{field}: ") and "Fix: " in str(err.value) and err.value.registered == []
