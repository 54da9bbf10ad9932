"""Sanad's Telegram adapter: Telegram updates in, retrieval answers out as Telegram HTML."""
