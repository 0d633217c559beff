"""azure-native's resource options: every Azure resource of the program (nodes and state bucket) is
registered without the type aliases the SDK adds."""
from __future__ import annotations

import copy

import pulumi


def without_type_aliases(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
    """Drop the ~50 type aliases azure-native adds to every resource (one per past API version).

    They only matter to stacks created under another azure-native type token, which this program
    never used; resolving them cost 60% of the program's run time and half its memory (bench/).
    The legacy `transformations` option is needed: it runs before the aliases are expanded.
    """
    opts = copy.copy(args.opts)
    opts.aliases = None
    return pulumi.ResourceTransformationResult(args.props, opts)
