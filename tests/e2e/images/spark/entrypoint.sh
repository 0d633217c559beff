#!/bin/sh
# The official image's entrypoint runs a command that is not Kubernetes' driver or executor as given
# (apache/spark-docker 3.5.7/scala2.12-java17-ubuntu/entrypoint.sh:126-128).
exec "$@"
