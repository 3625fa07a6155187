"""Local runs only (`make app`, the tests): never imported by the deployed processes."""
