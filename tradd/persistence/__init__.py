"""What a live worker must remember across crashes: orders, fills, snapshots, decisions.

`db.open_database` connects and migrates; `ledger.Ledger` is the API the worker uses;
`book.Book` turns fills into positions without SQL.
"""
