"""The daemon assembled: the supervisor with the control server and metrics endpoint that
expose it. The one package that imports all three, so none of them imports another's
owner back."""
