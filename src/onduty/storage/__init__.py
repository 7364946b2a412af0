"""Storage: the schema, migrations, and the store the service writes through."""
