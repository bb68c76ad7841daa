"""`manage`: the management CLI of the backend. See README.md."""
