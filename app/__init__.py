"""The backend that `manage` reuses: settings, models, schemas and services."""
