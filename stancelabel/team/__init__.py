"""Team work: merge, agreement and adjudication."""
