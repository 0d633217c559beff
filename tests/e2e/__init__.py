"""End-to-end tests on local, cloud-like test hosts (marker `e2e`; docs/development.md "Tests")."""
