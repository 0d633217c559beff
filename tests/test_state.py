"""flink.state under mocks: the jobs' state in a bucket on Google Cloud Storage or Azure, reached with a
credential that is a Pulumi secret end to end and a file in the Flink containers, never in their spec."""
import base64
import json
import subprocess

import pytest

from tests.harness import is_secret

SERVICE, SECRET = "docker:index/service:Service", "docker:index/secret:Secret"
GCP = {"gcp:project": "my-project", "gcp:zone": "europe-west1-b"}


def properties(service) -> dict:
    text = service.inputs["taskSpec"]["containerSpec"]["env"]["FLINK_PROPERTIES"]
    return dict(line.split(": ", 1) for line in text.splitlines())


@pytest.fixture
def gcs(program):
    return program(flink={"state": "gcs"}, **GCP)


@pytest.fixture
def azure(program):
    return program(flink={"state": "azure"})


def test_the_default_state_is_on_the_jobmanagers_node_and_nothing_is_made_for_it(program):
    run = program()
    assert not [r for r in run.resources if r.type.startswith(("gcp:storage", "gcp:serviceaccount",
                                                               "azure-native:storage"))]
    assert [s.name for s in run.of_type(SECRET)] == ["grafana-admin-password"]  # monitoring's, no key
    assert run.outputs["flinkState"] == "azure-flink-jobmanager:/var/lib/flink-swarm/state"


def test_gcs_a_private_bucket_in_the_region_kept_on_destroy(gcs):
    bucket = gcs.get("bucket", "gcp:storage/bucket:Bucket")
    name = bucket.inputs["name"]
    assert name.startswith("test-flink-state-") and len(name) <= 63  # names are global: a random suffix
    assert bucket.inputs["location"] == "europe-west1" and bucket.inputs["project"] == "my-project"
    assert bucket.inputs["uniformBucketLevelAccess"] is True
    assert bucket.inputs["publicAccessPrevention"] == "enforced"
    assert bucket.inputs["forceDestroy"] is False and bucket.retain_on_delete  # the jobs' state outlives the stack
    assert gcs.outputs["flinkState"] == f"gs://{name}"


def test_gcs_a_service_account_of_its_own_may_use_that_bucket_only(gcs):
    bucket = gcs.get("bucket", "gcp:storage/bucket:Bucket")
    account = gcs.get("account", "gcp:serviceaccount/account:Account")
    (grant,) = gcs.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert grant.inputs == {"bucket": bucket.inputs["name"], "role": "roles/storage.objectAdmin",
                            "member": "serviceAccount:test-flink-state@my-project.iam.gserviceaccount.com"}
    assert not [r for r in gcs.resources if "projectIam" in r.type]  # nothing project-wide
    assert gcs.depends_on(gcs.get("key", "gcp:serviceaccount/key:Key"), account)


def flink_services(run):
    return [run.get(name, SERVICE) for name in ("jobmanager", "taskmanager")]


def test_gcs_flink_writes_its_state_there_with_the_key_as_a_docker_secret(gcs):
    name = gcs.get("bucket", "gcp:storage/bucket:Bucket").inputs["name"]
    (secret,) = [s for s in gcs.of_type(SECRET) if s.name == "flink-state-key"]
    assert is_secret(secret.raw["data"])  # the key is a Pulumi secret in the state
    key_json = json.loads(base64.b64decode(secret.inputs["data"]))  # the key file the plugin reads
    assert key_json["type"] == "service_account"
    for service in flink_services(gcs):
        props = properties(service)
        assert props["state.checkpoint-storage"] == "filesystem"  # the taskmanagers write their state there
        assert props["state.checkpoints.dir"] == f"gs://{name}/checkpoints"
        assert props["state.savepoints.dir"] == f"gs://{name}/savepoints"
        assert props["high-availability.storageDir"] == f"gs://{name}/ha"  # one for both: the blobs too
        spec = service.inputs["taskSpec"]["containerSpec"]
        assert spec["env"]["GOOGLE_APPLICATION_CREDENTIALS"] == "/run/secrets/flink-state-key"
        assert spec["secrets"] == [{"secretId": "flink-state-key-id", "secretName": secret.inputs["name"],
                                    "fileName": "/run/secrets/flink-state-key", "fileUid": "9999", "fileGid": "9999",
                                    "fileMode": 0o400}]  # readable by the image's flink user only
        assert gcs.depends_on(service, secret)
        command = spec["commands"]
        assert command[:2] == ["bash", "-c"] and command[3:] == [
            "flink-state-entry", "flink-gs-fs-hadoop", "/run/secrets/flink-state-key", "-", "/docker-entrypoint.sh"]
        assert "BEGIN PRIVATE KEY" not in json.dumps(service.inputs)  # never in the spec
    # the jobmanager keeps its node's directory: ZooKeeper's pointers to jobs started before a switch
    assert flink_services(gcs)[0].inputs["taskSpec"]["containerSpec"]["mounts"][0]["target"] == "/flink-state"


def test_a_new_key_is_a_new_docker_secret_named_by_a_digest_of_it(gcs):
    (secret,) = [s for s in gcs.of_type(SECRET) if s.name == "flink-state-key"]
    name = secret.inputs["name"]
    assert name.startswith("flink-state-key-") and len(name) == len("flink-state-key-") + 12
    assert not is_secret(secret.raw["name"])  # a digest tells nothing of the key; the plan shows the name


def test_azure_a_storage_account_with_a_private_container_kept_on_destroy(azure):
    group = azure.get("group", "azure-native:resources:ResourceGroup")
    account = azure.get("account", "azure-native:storage:StorageAccount")
    container = azure.get("container", "azure-native:storage:BlobContainer")
    name = account.inputs["accountName"]
    assert name.startswith("teststate") and 3 <= len(name) <= 24 and name.isalnum() and name.islower()
    assert account.inputs["resourceGroupName"] == group.inputs["resourceGroupName"] == "test-flink-state"
    assert account.inputs["isHnsEnabled"] is True  # abfss:// (Flink's azure plugin) on a hierarchical namespace
    assert account.inputs["allowBlobPublicAccess"] is False and account.inputs["enableHttpsTrafficOnly"] is True
    assert account.inputs["minimumTlsVersion"] == "TLS1_2"
    assert container.inputs["publicAccess"] == "None" and container.inputs["containerName"] == "flink-state"
    assert group.retain_on_delete and account.retain_on_delete and container.retain_on_delete
    assert azure.outputs["flinkState"] == f"abfss://flink-state@{name}.dfs.core.windows.net"


def test_azure_flink_gets_the_account_key_from_a_docker_secret_through_its_entry(azure):
    name = azure.get("account", "azure-native:storage:StorageAccount").inputs["accountName"]
    (secret,) = [s for s in azure.of_type(SECRET) if s.name == "flink-state-key"]
    assert is_secret(secret.raw["data"])
    assert base64.b64decode(secret.inputs["data"]).decode() == "bW9jay1zdG9yYWdlLWtleQ=="  # the key, as a file
    for service in flink_services(azure):
        spec = service.inputs["taskSpec"]["containerSpec"]
        assert properties(service)["state.checkpoints.dir"] == \
            f"abfss://flink-state@{name}.dfs.core.windows.net/checkpoints"
        assert spec["commands"][3:] == ["flink-state-entry", "flink-azure-fs-hadoop", "/run/secrets/flink-state-key",
                                        name, "/docker-entrypoint.sh"]
        assert "GOOGLE_APPLICATION_CREDENTIALS" not in spec["env"]
        assert "bW9jay1zdG9yYWdlLWtleQ" not in json.dumps(service.inputs)  # the key is never in the spec


# The entry script, run for real: a fake FLINK_HOME and entrypoint stand in for the image's.
@pytest.fixture
def entry(tmp_path):
    from components.steps import script_text

    home = tmp_path / "flink"
    (home / "opt").mkdir(parents=True)
    entrypoint = tmp_path / "docker-entrypoint.sh"
    entrypoint.write_text('#!/bin/bash\nprintf "%s\\n" "plugins=$ENABLE_BUILT_IN_PLUGINS" "args=$*" '
                          '"properties=$FLINK_PROPERTIES"\n')
    entrypoint.chmod(0o755)
    key = tmp_path / "key"
    key.write_text("s3cr3t/key+value==")

    def run(plugin: str, account: str, jar: str = ""):
        if jar:
            (home / "opt" / jar).write_text("")
        return subprocess.run(["bash", "-c", script_text("flink-state-entry"), "flink-state-entry", plugin, str(key),
                               account, str(entrypoint), "taskmanager", "-Dx=y"],
                              env={"FLINK_HOME": str(home), "PATH": "/usr/bin:/bin",
                                   "FLINK_PROPERTIES": "a: b\n"}, capture_output=True, text=True)
    return run


def test_the_entry_enables_the_images_own_plugin_and_runs_its_entrypoint(entry):
    done = entry("flink-gs-fs-hadoop", "-", "flink-gs-fs-hadoop-1.20.3.jar")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["plugins=flink-gs-fs-hadoop-1.20.3.jar", "args=taskmanager -Dx=y",
                                            "properties=a: b"]
    assert "fs.azure" not in done.stdout


def test_the_entry_gives_flink_the_azure_key_without_printing_it(entry):
    done = entry("flink-azure-fs-hadoop", "acct", "flink-azure-fs-hadoop-1.20.3.jar")
    assert done.returncode == 0, done.stderr
    properties = [line for line in done.stdout.split("properties=", 1)[1].splitlines() if line]  # as the image reads them
    assert properties == ["a: b", "fs.azure.account.key.acct.dfs.core.windows.net: s3cr3t/key+value=="]
    assert "s3cr3t" not in done.stderr


def test_the_entry_fails_naming_the_missing_plugin(entry):
    done = entry("flink-gs-fs-hadoop", "-")
    assert done.returncode == 1 and "opt/flink-gs-fs-hadoop-<version>.jar" in done.stderr
    assert done.stdout == ""  # the image's entrypoint never ran
