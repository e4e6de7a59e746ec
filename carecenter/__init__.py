"""CareCenter: the domain core of the town-level elderly-care micro-service centers."""

# The naming convention must be on the metadata before the first table is declared.
from carecenter import db as _db  # noqa: F401
