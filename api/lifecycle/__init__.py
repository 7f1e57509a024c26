"""An event from candidate to evaluated: the states and the audit, the verbs that move it, the reads,
and what is decided at each step (zone rules at alert, first offence or repeat at confirm)."""
