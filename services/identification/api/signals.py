"""Routes: signals (placeholder until its use cases land)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["signals"])
