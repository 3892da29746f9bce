import importlib

# The CUSUM thresholds the standard is installed with (its data migration's values).
SEEDED_CUSUM_H: dict[str, float] = importlib.import_module(
    "consistency.migrations.0002_default_standard"
).CUSUM_H
