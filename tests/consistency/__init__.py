from consistency.defaults import CUSUM_H

# The CUSUM thresholds the standard is installed with.
SEEDED_CUSUM_H: dict[str, float] = CUSUM_H
