"""The webscale security baseline: a Pulumi CrossGuard policy pack (see README "Policy pack")."""
