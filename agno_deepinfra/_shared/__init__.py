"""What two or more wings use: configuration, errors, retries, limits, HTTP, portability, tracing."""
