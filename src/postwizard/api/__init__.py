"""What every endpoint shares: error rendering, pagination, request limits."""
