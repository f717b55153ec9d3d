"""The IB adapter: client (the only importer of the IB library), link, Backtrader store,
broker and feed, history download."""
