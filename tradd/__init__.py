"""tradd: a trading daemon for Backtrader strategies on Interactive Brokers, plus research tools."""

__version__ = "0.1.0"
