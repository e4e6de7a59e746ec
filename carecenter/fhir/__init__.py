"""The read-only FHIR R4 API for the district's health platform: records as FHIR resources
(`resources`), their searches and paged bundles (`search`), the codes they carry (`codes`)."""
