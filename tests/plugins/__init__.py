"""Stand-in provider plugins for the real `pulumi` CLI (server.py, standins.py, bin/pulumi-resource-*).

The real provider plugins cannot be built here; these executables speak the ResourceProvider gRPC
protocol the engine uses and answer with the imitations of tests/plugins/providers.
"""
