"""flink-swarm's policy pack: `pulumi preview --policy-pack policy`. The policies live in policies.py."""
from pulumi_policy import PolicyPack

from policies import POLICIES

PolicyPack("flink-swarm-policies", POLICIES)
