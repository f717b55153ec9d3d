"""Sample strategies shipped with tradd. Load one by dotted path, e.g. strategies.sma_cross.SmaCross."""
