"""The notes / ideas board: Markdown notes in workspace columns, turned into posts."""
