"""`manage migrate review`: static rules on the revision scripts, squawk on their offline
PostgreSQL SQL, and an optional upgrade/downgrade/upgrade roundtrip on a scratch database.
docs/review.md documents the rules, the options and the JSON shape."""
