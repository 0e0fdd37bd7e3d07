"""Configuration data of the project (YAML files), installed with the package."""
