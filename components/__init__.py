"""flink-swarm components: config -> nodes -> swarm -> flink, one ComponentResource per concept."""
