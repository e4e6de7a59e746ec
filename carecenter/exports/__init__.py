"""Exports in the receiver's format: templates kept as data (`templates/*.json`, and a center's own
in CARECENTER_EXPORT_TEMPLATE_DIR), the rows each fills, their validation, and the files."""
