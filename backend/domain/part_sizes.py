"""Part-size arithmetic for multipart uploads: pure functions, no I/O.

S3's rules: at most 10,000 parts, each at most 5 GiB, each but the last at least 5 MiB. We use
8 MiB as the floor (fewer requests, and what most clients default to) and grow the part size
in whole MiB until the file fits in 10,000 parts.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024**2
GiB = 1024**3
TiB = 1024**4

MIN_PART_SIZE = 8 * MiB
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 5 * TiB  # S3's largest object


@dataclass(frozen=True)
class PartPlan:
    """How a file of `size` bytes is cut: `part_count` parts of `part_size`, the last shorter."""

    size: int
    part_size: int
    part_count: int

    def part_bytes(self, part_number: int) -> int:
        """The exact size of part `part_number` (1-based); ValueError outside the plan."""
        if not 1 <= part_number <= self.part_count:
            raise ValueError(f"part {part_number} is outside 1-{self.part_count}")
        if part_number < self.part_count:
            return self.part_size
        return self.size - self.part_size * (self.part_count - 1)


def plan_parts(size: int) -> PartPlan:
    """The plan for a file of `size` bytes (1 byte to 5 TiB): the smallest fitting part size."""
    if not 1 <= size <= MAX_OBJECT_SIZE:
        raise ValueError(f"a multipart object has 1 to {MAX_OBJECT_SIZE} bytes, not {size}")
    needed = -(-size // MAX_PARTS)  # ceil: the smallest part size that fits in 10,000 parts
    part_size = max(MIN_PART_SIZE, -(-needed // MiB) * MiB)
    if part_size > MAX_PART_SIZE:  # pragma: no cover - 10,000 x 5 GiB is far above 5 TiB
        raise ValueError(f"{size} bytes do not fit in {MAX_PARTS} parts of at most 5 GiB")
    return PartPlan(size=size, part_size=part_size, part_count=-(-size // part_size))
