"""Admission by expected wait: refuse at once the work that could not start in time.

A bounded queue of *requests* (``max_queued_requests``) says nothing about time:
128 queued requests of 16 long texts each are half a minute of model work on 2
cores, and every one of them was accepted. :class:`WaitBudget` keeps count of the
items admitted and not yet answered, learns the model's pace from the passes it
runs (a fixed cost per pass plus a cost per item, fitted), and refuses a call whose
items would have to wait longer than ``max_wait_s`` behind the others, with a
``Retry-After`` of the expected wait. A call that finds nothing admitted always runs: one large batch
on an idle model is slow, not overload.
"""

from __future__ import annotations

import math

from infra.errors import AtCapacity

DEFAULT_MAX_WAIT_S = 0.5
DECAY = 0.9  # weight the pace estimate keeps per newer pass: about the last 10 passes count


class WaitBudget:
    """Items admitted and not yet answered, against the pace the model keeps.

    A pass over ``n`` items takes about ``per_pass + n * per_item`` seconds (the fixed cost of a pass is
    why batching pays); both are fitted to the observed passes by least squares that forget old passes.
    The wait for ``N`` items is ``ceil(N / max_batch)`` passes' fixed cost plus ``N`` items' cost.
    """

    def __init__(self, max_wait_s: float = DEFAULT_MAX_WAIT_S, *, max_batch: int = 32) -> None:
        if max_wait_s <= 0:
            raise ValueError(f"max_wait_s must be > 0, got {max_wait_s}")
        self.max_wait_s = max_wait_s
        self.max_batch = max_batch
        self.admitted = 0
        self.refused = 0
        self._sums = [0.0] * 5  # decayed sums of 1, n, t, n*n, n*t over observed passes

    def cost(self) -> tuple[float, float]:
        """``(per_pass_s, per_item_s)`` fitted so far (``(0, 0)`` before any pass)."""
        weight, n, t, nn, nt = self._sums
        if weight == 0:
            return 0.0, 0.0
        spread = weight * nn - n * n
        if spread <= 1e-9 * weight * nn:  # every pass had the same size: no fixed cost to tell apart
            return 0.0, t / n
        per_item = max((weight * nt - n * t) / spread, 0.0)
        per_pass = max((t - per_item * n) / weight, 0.0)
        if per_item == 0.0:
            per_item = t / n / 10  # noise made the slope vanish: keep a floor so a queue still costs
        return per_pass, per_item

    def expected_wait_s(self, items: int = 0) -> float:
        """Seconds until ``items`` more would be answered, at the fitted pace (0 before any pass)."""
        queued = self.admitted + items
        per_pass, per_item = self.cost()
        return math.ceil(queued / self.max_batch) * per_pass + queued * per_item

    def pass_size(self, waiting: int) -> int:
        """How many of ``waiting`` items the next pass should take so that, on average, they are answered soonest.

        Passes of ``k`` answer ``waiting`` items at a mean of ``(per_pass + k * per_item) * (waiting / k + 1) / 2``,
        least at ``k = sqrt(waiting * per_pass / per_item)``. Where a pass's fixed cost is small (float32 on a CPU
        without native bfloat16: a 32-text pass costs about 32 lone ones) that is one or two: the first callers
        are answered after their own pass instead of everybody after the whole batch's. Where batching pays, and
        as the queue grows, passes grow toward ``max_batch``. Before any pace is known: ``max_batch``.
        """
        per_pass, per_item = self.cost()
        if per_item <= 0:
            return self.max_batch
        best = round(math.sqrt(max(waiting, 1) * per_pass / per_item))
        return max(1, min(self.max_batch, best))

    def admit(self, items: int) -> None:
        """Count ``items`` in, or raise :class:`~infra.errors.AtCapacity` when they would wait too long."""
        if self.admitted:
            wait = self.expected_wait_s(items)
            if wait > self.max_wait_s:
                self.refused += 1
                backlog = self.expected_wait_s()
                raise AtCapacity(
                    f"the model has ~{backlog:.1f} s of work queued (limit {self.max_wait_s:g} s); retry shortly",
                    retry_after_s=max(1, math.ceil(round(backlog, 3))),
                )
        self.admitted += items

    def release(self, items: int) -> None:
        """``items`` were answered (or failed): they no longer wait."""
        self.admitted = max(0, self.admitted - items)

    def observe(self, items: int, seconds: float) -> None:
        """A pass computed ``items`` in ``seconds``: update the fitted pace."""
        if items <= 0 or seconds <= 0:
            return
        n, t = float(items), seconds
        self._sums = [DECAY * old + new for old, new in zip(self._sums, (1.0, n, t, n * n, n * t), strict=True)]
