"""Department patrol requests merged into shared flights (综合飞一次): requests, the week's plan,
the flights and their scheduler. Needs only ``core`` and the pure planner in ``dispatch``."""
