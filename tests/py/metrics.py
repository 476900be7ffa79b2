"""Reads a metrics file with Prometheus' own parser (prometheus_client) and
prints its samples as JSON: [{"name", "type", "labels", "value"}, ...].

Usage: metrics.py FILE
"""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families

with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
samples = []
for family in text_string_to_metric_families(text):
    for s in family.samples:
        samples.append({"name": s.name, "type": family.type, "labels": s.labels, "value": s.value})
print(json.dumps(samples))
