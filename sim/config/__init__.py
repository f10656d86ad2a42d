"""Run configuration: the YAML/TOML schema, its files, errors and the commented printout."""
