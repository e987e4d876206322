"""Benchmarks: the plan's speed (plan.py) and the report's scale (report_scale.py)."""
