"""Connected social accounts (one per network identity) and their posting slots."""
