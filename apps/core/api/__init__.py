"""The REST API's shared parts: error body, pagination, ordering, schema generation."""
