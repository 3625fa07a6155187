"""What every process shares: settings, logs, metrics, AWS IAM tokens, the process harness."""
