"""The part-size arithmetic: S3's limits hold at every boundary, up to 5 TiB."""

from __future__ import annotations

import pytest

from backend.domain.part_sizes import (
    MAX_OBJECT_SIZE,
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    MiB,
    plan_parts,
)


def _assert_valid(size: int) -> None:
    plan = plan_parts(size)
    assert MIN_PART_SIZE <= plan.part_size <= MAX_PART_SIZE
    assert 1 <= plan.part_count <= MAX_PARTS
    numbers = range(1, plan.part_count + 1) if plan.part_count < 50 else (1, plan.part_count)
    sizes = [plan.part_bytes(n) for n in numbers]
    assert all(0 < s <= plan.part_size for s in sizes)
    assert plan.part_size * (plan.part_count - 1) + plan.part_bytes(plan.part_count) == size


def test_a_5_tib_object_fits_in_10000_parts() -> None:
    plan = plan_parts(MAX_OBJECT_SIZE)
    assert plan.part_count <= MAX_PARTS
    assert plan.part_size % MiB == 0
    assert plan.part_size * (plan.part_count - 1) < MAX_OBJECT_SIZE
    _assert_valid(MAX_OBJECT_SIZE)


def test_small_files_use_one_part_of_the_minimum_size() -> None:
    plan = plan_parts(1)
    assert (plan.part_size, plan.part_count, plan.part_bytes(1)) == (MIN_PART_SIZE, 1, 1)


def test_exactly_one_full_part() -> None:
    plan = plan_parts(MIN_PART_SIZE)
    assert (plan.part_count, plan.part_bytes(1)) == (1, MIN_PART_SIZE)


def test_one_byte_over_a_part_makes_a_one_byte_last_part() -> None:
    plan = plan_parts(MIN_PART_SIZE + 1)
    assert plan.part_count == 2
    assert (plan.part_bytes(1), plan.part_bytes(2)) == (MIN_PART_SIZE, 1)


def test_200_mib_in_8_mib_parts() -> None:
    plan = plan_parts(200 * MiB)
    assert (plan.part_size, plan.part_count) == (8 * MiB, 25)


def test_the_part_size_grows_only_when_10000_parts_are_not_enough() -> None:
    largest_at_minimum = MIN_PART_SIZE * MAX_PARTS
    assert plan_parts(largest_at_minimum).part_size == MIN_PART_SIZE
    assert plan_parts(largest_at_minimum).part_count == MAX_PARTS
    assert plan_parts(largest_at_minimum + 1).part_size == MIN_PART_SIZE + MiB


@pytest.mark.parametrize(
    "size", [1, 2, MiB, 64 * MiB - 1, 64 * MiB, 64 * MiB + 1, 10**9, 10**12, MAX_OBJECT_SIZE - 1]
)
def test_every_plan_keeps_s3s_limits(size: int) -> None:
    _assert_valid(size)


@pytest.mark.parametrize("size", [0, -1, MAX_OBJECT_SIZE + 1])
def test_sizes_outside_1_byte_to_5_tib_have_no_plan(size: int) -> None:
    with pytest.raises(ValueError, match="multipart object"):
        plan_parts(size)


@pytest.mark.parametrize("part_number", [0, 26, -1])
def test_part_numbers_outside_the_plan_have_no_size(part_number: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        plan_parts(200 * MiB).part_bytes(part_number)
