"""The media library: uploaded images and videos, validated, stored by content, reused by posts."""
