"""Reads the Prometheus text format on stdin with prometheus_client's own
parser, which raises on anything that does not parse, and prints what it
read as JSON: [{"name", "type", "help", "samples": [{"name", "labels",
"value"}]}]. Used by tests/metrics.rs."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families

families = [
    {
        "name": family.name,
        "type": family.type,
        "help": family.documentation,
        "samples": [
            {"name": sample.name, "labels": sample.labels, "value": sample.value}
            for sample in family.samples
        ],
    }
    for family in text_string_to_metric_families(sys.stdin.read())
]
# allow_nan=False: a NaN or infinite value is an error, not a JSON extension.
print(json.dumps(families, allow_nan=False))
