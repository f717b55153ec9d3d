"""Who is asking: browser sessions (cookie + CSRF token), API tokens (Bearer), roles."""
