"""Notification use cases (subscriptions, the inbox, the reminders list) over a unit of work
(`ports.Work`); the workers and consumers that move events and deliveries live in `adapters/`."""
