"""`python -m flink_swarm_cli ...`: the same as the `flink-swarm` command."""
import sys

from .main import main

sys.exit(main())
