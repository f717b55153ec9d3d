"""The console's routes, one module per area: auth, optimizer (the specification's job
API), jobs (beyond it), live (the daemon), pages (HTML)."""
