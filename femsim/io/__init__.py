"""Output writers: atomic files, CSV series, run manifest, fields, restart snapshots."""
