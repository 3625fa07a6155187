"""The HTTP API: FastAPI app, routes, request and response bodies."""
