# The standard, rollups and flags arrive with the consistency-engine issue.
