"""The load test: a Locust scenario, its profiles and SLO verdict."""
