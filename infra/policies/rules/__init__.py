"""One module per service; each exports ``POLICIES`` and the pure predicates behind them."""
