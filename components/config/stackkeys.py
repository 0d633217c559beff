"""The stack's own keys (`flink-swarm:*`): which the program reads, which must be secrets, and how a
real run finds every key the stack sets, the ones it does not read included."""
from __future__ import annotations

import json
import re
from typing import Any, Collection, Mapping, Optional

import pulumi
import pulumi.runtime.config as sdk_config

from .checks import did_you_mean, fail
from .types import OWN, PROJECT

TEXT = ("topology", "sshUser", "dockerInstall", "dockerVersion", "namePrefix", "sshPublicKey", "controlManager")
OBJECTS = ("adminCidrs", "network", "flink", "ssh", "worldOpenAdmin", "local", "monitoring", "spark")
SECRETS = ("sshPrivateKey", "weavePassword")  # `pulumi config set --secret`; secret Outputs end to end
KNOWN = TEXT + OBJECTS + SECRETS
SET_SECRET = {"sshPrivateKey": f"`pulumi config set --secret {OWN}sshPrivateKey < key`",
              "weavePassword": f"`pulumi config set --secret {OWN}weavePassword <password>`"}
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check(cfg: Mapping[str, Any], secret: Optional[Collection[str]]) -> None:
    """No key the program does not read; the secret keys stored as secrets (`secret`: the keys the
    stack stores encrypted, None when not known); a Weave password Weave can take."""
    for key in cfg:
        if key not in KNOWN:
            fail(f"{OWN}{key}", None, "not a setting flink-swarm reads (it would be ignored)",
                 f"{did_you_mean(key, KNOWN)}`pulumi config rm {OWN}{key}`; an object's field is set with "
                 f"--path, e.g. `pulumi config set --path '{OWN}network.mtu' 1500`", shown="value not shown")
    for key in SECRETS:
        if key in cfg and secret is not None and key not in secret:
            fail(f"{OWN}{key}", None, "stored in plain text in Pulumi.<stack>.yaml, not as a secret",
                 f"`pulumi config rm {OWN}{key}`, then {SET_SECRET[key]}; it has been readable in the file: "
                 "replace it if the file was shared", shown="value not shown")
    password = cfg.get("weavePassword")
    problem = ("not text" if not isinstance(password, str) else "empty" if not password.strip() else
               "more than one line, or control characters" if CONTROL.search(password) else None)
    if "weavePassword" in cfg and problem:
        fail(f"{OWN}weavePassword", None, f"{problem}: `docker plugin set WEAVE_PASSWORD=...` takes one line of "
             "text", f"{SET_SECRET['weavePassword']} with one line of text, or unset it and one is generated",
             shown="value not shown")


def _json(text: str) -> Any:
    """An object setting's value; text that is not JSON stays text, for `parse` to refuse by name
    (`pulumi.Config.get_object` would raise its own error, without the fix)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def read() -> tuple[dict[str, Any], frozenset[str]]:
    """The stack's own keys as `pulumi.Config` gives them (secrets in plain text, for `parse` to check
    only), and which of them the stack stores as secrets.

    Every key: the SDK's config map, which the language host fills from PULUMI_CONFIG with the secret
    keys from PULUMI_CONFIG_SECRET_KEYS (pulumi 3.272 pulumi/runtime/config.py:26-51 CONFIG and
    set_all_config, called by sdk/python/cmd/pulumi-language-python-exec:102-110), plus that
    environment map itself; `is_config_secret` (config.py:111-115) reads the secret keys, which the
    engine sends with every run (sdk/go/common/resource/plugin/langruntime_plugin.go:398-416, v3.276).
    """
    conf = pulumi.Config(PROJECT)
    names = {key[len(OWN):] for key in (*sdk_config.CONFIG.get(), *sdk_config.get_config_env())
             if key.startswith(OWN)}
    raw: dict[str, Any] = {}
    for key in sorted(names | set(KNOWN)):
        if (value := conf.get(key)) is not None:
            raw[key] = _json(value) if key in OBJECTS else value
    return raw, frozenset(key for key in raw if pulumi.runtime.is_config_secret(OWN + key))
