"""A bucket for Flink's durable state (flink.state gcs or azure), and the credentials to reach it.

Flink reaches it through its own filesystem plugin, shipped in the official images' opt/ and enabled
by the image's entrypoint (ENABLE_BUILT_IN_PLUGINS, apache/flink-docker 1.20/scala_2.12-java17-ubuntu/
docker-entrypoint.sh:41-59); see components/scripts/flink-state-entry.sh. The credentials are a
Pulumi secret end to end: from the cloud's key to a Docker secret, a file in the Flink containers.

The bucket and what holds it are kept when the stack is destroyed (retain_on_delete), as the
jobmanager node's state directory is: delete them by hand when the jobs' state is not wanted.
"""
from __future__ import annotations

import base64
import re
from typing import Optional

import pulumi
import pulumi_random as random
from pulumi_azure_native import resources, storage
from pulumi_gcp import serviceaccount
from pulumi_gcp import storage as gcs

from .aliases import without_type_aliases
from .config import Settings
from .config.topology import AZURE

CONTAINER = "flink-state"  # the Azure blob container
# Flink's filesystem plugins (opt/<name>-<version>.jar in Flink's distribution) and their URI schemes.
PLUGINS = {"gcs": "flink-gs-fs-hadoop", "azure": "flink-azure-fs-hadoop"}


class StateBucket(pulumi.ComponentResource):
    """A private bucket (GCS) or storage account container (Azure) for checkpoints, savepoints and
    high-availability metadata, with a credential that reaches only it.

    `uri`: where Flink writes (gs://<bucket> or abfss://flink-state@<account>.dfs.core.windows.net);
    `credential`: the credential file's content, base64 (a Pulumi secret); `plugin`: the Flink plugin;
    `azure_account`: the storage account whose key the credential is (None on GCS).
    """

    def __init__(self, name: str, settings: Settings, opts: Optional[pulumi.ResourceOptions] = None):
        cloud = settings.flink.state
        super().__init__("flink-swarm:state:StateBucket", name, None, pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(transformations=[without_type_aliases] if cloud == AZURE else None)))
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        prefix = settings.name_prefix
        # Bucket and account names are global across each cloud: a random suffix, kept in the state.
        suffix = random.RandomString("suffix", length=6, special=False, upper=False, opts=child).result
        self.plugin = PLUGINS[cloud]
        self.azure_account: Optional[pulumi.Output[str]] = None
        if cloud == "gcs":
            cfg = settings.gcp
            bucket = gcs.Bucket(
                "bucket", name=pulumi.Output.concat(prefix, "-flink-state-", suffix), project=cfg.project,
                location=cfg.region, uniform_bucket_level_access=True, public_access_prevention="enforced",
                force_destroy=False, opts=kept)
            # A service account of its own, allowed the bucket's objects and nothing else.
            account = serviceaccount.Account(
                "account", account_id=f"{prefix}-flink-state"[:30].rstrip("-"), project=cfg.project,
                display_name="flink-swarm: Flink's state bucket", opts=child)
            gcs.BucketIAMMember("bucket-access", bucket=bucket.name, role="roles/storage.objectAdmin",
                                member=pulumi.Output.concat("serviceAccount:", account.email), opts=child)
            key = serviceaccount.Key("key", service_account_id=account.name, opts=child)
            self.uri: pulumi.Output[str] = pulumi.Output.concat("gs://", bucket.name)
            self.credential: pulumi.Output[str] = pulumi.Output.secret(key.private_key)  # base64 of the JSON key
        else:
            cfg = settings.azure
            group = resources.ResourceGroup("group", resource_group_name=f"{prefix}-flink-state",
                                            location=cfg.location, opts=kept)
            account = storage.StorageAccount(
                "account", account_name=pulumi.Output.concat(re.sub("[^a-z0-9]", "", prefix)[:12], "state", suffix),
                resource_group_name=group.name, location=cfg.location, kind="StorageV2",
                sku=storage.SkuArgs(name="Standard_LRS"), is_hns_enabled=True,  # abfss:// needs the namespace
                allow_blob_public_access=False, allow_shared_key_access=True, enable_https_traffic_only=True,
                minimum_tls_version="TLS1_2", opts=kept)
            storage.BlobContainer("container", account_name=account.name, resource_group_name=group.name,
                                  container_name=CONTAINER, public_access=storage.PublicAccess.NONE, opts=kept)
            keys = storage.list_storage_account_keys_output(account_name=account.name,
                                                            resource_group_name=group.name)
            self.uri = pulumi.Output.concat("abfss://", CONTAINER, "@", account.name, ".dfs.core.windows.net")
            self.credential = pulumi.Output.secret(
                keys.keys.apply(lambda k: base64.b64encode(k[0].value.encode()).decode()))
            self.azure_account = account.name
        self.register_outputs({"uri": self.uri})
