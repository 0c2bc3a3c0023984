"""Notification use cases over a unit of work (`ports.py`): subscriptions, the inbox and the
reminders list (`ports.Work`, for the routers), and the decisions of the delivery workers —
dispatch, fan-out, SMS, reminders (`ports.DispatchWork`, `FanoutWork`, `SmsWork`, `ReminderWork`);
the loops and consumers that drive them, and all SQL, live in `adapters/`."""
