"""The service's use cases beyond the plan's own: settling broker closes, placing orders,
following ticks and reconciling with the broker. Each takes the service's :class:`Core` and
returns the work its change implies; ``dispatch.py`` runs the use cases and that work."""
