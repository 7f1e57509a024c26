"""The bridge to ``dispatch/``: the drones and teams registry, the dispatch worker that flies
confirmed events and writes what happened, and the loudspeaker's orchestration."""
