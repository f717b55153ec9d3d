"""Sample strategies shipped with tradd; load by dotted path: strategies.sma_cross.SmaCross."""
