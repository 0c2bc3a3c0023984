"""The notification service's own configuration (environment, prefix `FANGFAN_`): webhook retry
schedule and limits, the dispatcher, the SMS provider and its rate limit, the reminder clock."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notification.domain.retry import DEFAULT_SCHEDULE, RetrySchedule, parse_schedule

__all__ = ["NotificationSettings"]


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FANGFAN_", extra="ignore")

    #: Seconds between webhook attempts, comma-separated; attempts = delays + 1, then dead.
    webhook_retry_schedule: str = ",".join(f"{d:g}" for d in DEFAULT_SCHEDULE)
    webhook_retry_jitter: float = 0.2
    webhook_timeout_s: float = 10.0
    #: A subscription whose deliveries have all been dead this long is disabled, its owner told.
    webhook_disable_after_s: float = 24 * 3600.0
    #: After a rotation the previous secret still signs this long.
    webhook_rotation_grace_s: float = 24 * 3600.0
    webhook_max_in_flight: int = 256
    webhook_claim_batch: int = 500
    webhook_poll_s: float = 0.5
    #: Run the webhook dispatcher / reminder scheduler / SMS sender in this process.
    dispatcher_enabled: bool = True
    reminders_enabled: bool = True
    reminder_poll_s: float = 5.0
    sms_enabled: bool = True
    #: HTTP SMS gateway: POST to this URL with the body template filled in ($phone, $text, $kind
    #: JSON-escaped) and these extra headers (JSON object). Unset: SMS are recorded, not sent.
    sms_provider_url: str | None = None
    sms_body_template: str = '{"phone": "$phone", "text": "$text", "kind": "$kind"}'
    sms_headers: str = "{}"
    sms_timeout_s: float = 10.0
    sms_rate_limit_per_hour: int = 5
    sms_retry_schedule: str = "30,300"
    sms_poll_s: float = 2.0

    def retry_schedule(self) -> RetrySchedule:
        return RetrySchedule(parse_schedule(self.webhook_retry_schedule), self.webhook_retry_jitter)
