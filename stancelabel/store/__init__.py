"""The project file: schema, migrations, queries and the event log."""
