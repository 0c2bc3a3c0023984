"""Money rounding for subsidies: amounts are computed exactly in Decimal and rounded half-up to
the fen (0.01 yuan) once, at the end of a calculation — never line by line."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["FEN", "ZERO", "exact_str", "fen", "format_yuan", "to_fen", "yuan"]

FEN = Decimal("0.01")
ZERO = Decimal(0)


def to_fen(value: Decimal) -> Decimal:
    """`value` rounded half-up to two places: 2999.995 → 3000.00, 0.004 → 0.00."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def format_yuan(value: Decimal) -> str:
    """An amount for an officer to read aloud: `1,234.50 yuan`; an unrounded intermediate keeps
    every digit (`2,999.995 yuan`) so that the final rounding is visible."""
    if value == value.quantize(FEN):
        return f"{value.quantize(FEN):,} yuan"
    return f"{value.normalize():,f} yuan"


def exact_str(value: Decimal) -> str:
    """An exact amount as a plain decimal string, at least two places: 40000 → "40000.00",
    2999.9950 → "2999.995" (an unrounded breakdown line keeps its sub-fen digits)."""
    if value == value.quantize(FEN):
        return f"{value.quantize(FEN)}"
    return f"{value:f}".rstrip("0")


def fen(amount: Decimal) -> int:
    """Yuan (two places) → whole fen, as decisions are stored."""
    return int((amount * 100).to_integral_value())


def yuan(amount_fen: int) -> Decimal:
    """Whole fen (as stored) → yuan."""
    return Decimal(amount_fen).scaleb(-2)
