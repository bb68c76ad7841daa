"""Engine and session factories, the metadata naming convention, the migration driver."""
