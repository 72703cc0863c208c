"""Service-level objectives as a product feature: a spec, ``vettify slo run`` against any deployment, a report,
and Prometheus burn-rate rules generated from the same spec.

``spec`` (the ``slo.yaml`` schema) · ``load`` (open- and closed-loop load drivers, shared with ``benchmarks/``)
· ``stats`` (percentiles with their intervals) · ``probes`` (one driver per kind of objective) · ``runner``
(verdicts) · ``report`` (JSON, Markdown, one self-contained HTML file) · ``rules`` (recording and
multi-window, multi-burn-rate alert rules).
"""
