"""`tradd scan`: every strategy on every symbol, scored and ranked; `--execute` enters the
best through the daemon (the caller passes the control client in: research sits below
control in the layers)."""
