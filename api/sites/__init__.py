"""Regulated sites (construction sites, fuel depots, factories, markets) under the county's
inspection rules: the registry, yearly A–D grades, non-site inspection first, caps and quiet
periods, pre-notice counted in China's official working days, and the figures. Needs ``core``,
``patrols`` (a site's drone look is a patrol request), ``lifecycle`` (its violations) and
``enforcement`` (the public task-code link of a notice)."""
