"""The control plane: the Unix-socket protocol, one class per command, and `tradctl`."""
