"""Progress reporting shared by the solver and the simulations: a tqdm bar or nothing."""

from __future__ import annotations

from tqdm.auto import tqdm


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, desc: str, enabled: bool):
    """A tqdm bar over ``total`` units when ``enabled``, else an object that ignores updates."""
    if not enabled or total <= 0:
        return _Silent()
    return tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True)
