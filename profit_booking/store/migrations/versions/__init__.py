"""The revisions, oldest first: ``v{N}_*.py`` brings the schema to version N."""
