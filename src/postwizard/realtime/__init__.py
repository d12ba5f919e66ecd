"""The event bus (in-process or Redis) and the Server-Sent Events stream to browsers."""
