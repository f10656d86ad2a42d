"""Pictures of one user's session for ``render_mode="rgb_array"`` / ``"human"``.

Left panel: a 2-D map of the catalog (the first two principal components of the item vectors,
computed once, on the first frame), the items shown recently (coloured by the answer), the
user's blocked items (×) and the user's current taste (★, the taste direction placed as if it
were an item). Right panel: the recent recommendations and their answers, newest at the top.

Only the envs import this module, and only once a frame is asked for, so an env without a render
mode never imports matplotlib. Frames are drawn with matplotlib's Agg canvas (no window, no
pyplot); ``human`` mode shows them in a pyplot window when matplotlib has an interactive
backend, and otherwise draws nothing and warns once (headless machines, CI).
"""

from __future__ import annotations

import warnings
from collections import deque
from dataclasses import dataclass

import numpy as np

from banditsim.envs.feedback_kinds import KINDS

KIND_COLOURS = ("#7f0000", "#d7301f", "#fc8d59", "#bdbdbd", "#91bfdb", "#4575b4", "#313695", "#1a1a66")
FRAME_SIZE = (640, 320)  # width, height in pixels: multiples of 16, as video encoders want
MAX_MAP_POINTS = 5000  # catalog points drawn as the background of the map
_NON_INTERACTIVE = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


@dataclass(frozen=True)
class Shown:
    """One step of the session: the items shown, the answering position (−1: none), the answer."""

    step: int
    items: tuple[int, ...]
    position: int
    kind: int
    reward: float


class SessionPicture:
    """Draws session frames over a fixed catalog (``item_vectors`` (n, d)).

    >>> pic = SessionPicture(np.random.default_rng(0).normal(size=(40, 5)))
    >>> pic.record(Shown(0, (3,), 0, 5, 1.0))
    >>> frame = pic.frame(user_id=7, taste=np.ones(5), blocked=np.array([2]), session_step=1, patience=5)
    >>> frame.shape, frame.dtype
    ((320, 640, 3), dtype('uint8'))
    """

    def __init__(self, item_vectors: np.ndarray, history: int = 12):
        self._x = item_vectors
        self._coords: np.ndarray | None = None
        self._axes: tuple[np.ndarray, np.ndarray] | None = None
        self.history: deque[Shown] = deque(maxlen=int(history))
        self._window = None
        self._warned = False

    def follow_catalog(self, item_vectors: np.ndarray) -> None:
        """Use ``item_vectors`` from now on when the catalog has grown (``World.add_items``)."""
        if len(item_vectors) != len(self._x):
            self._x, self._coords, self._axes = item_vectors, None, None

    def record(self, shown: Shown) -> None:
        """Remember one step (only the last ``history`` are kept)."""
        self.history.append(shown)

    def clear(self) -> None:
        """Forget the session (a new session starts)."""
        self.history.clear()

    @property
    def projected(self) -> bool:
        """Whether the catalog map has been computed."""
        return self._coords is not None

    def _projection(self) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """2-D coordinates of every item and (centre, axes) of the map, computed once per catalog."""
        if self._coords is None:
            self._coords, self._axes = catalog_map(self._x)
        return self._coords, self._axes

    def place(self, v: np.ndarray) -> np.ndarray:
        """Where a unit direction ``v`` (d,) falls on the map."""
        _, (centre, axes) = self._projection()
        v = np.asarray(v, dtype=np.float64)
        norm = np.linalg.norm(v)
        return ((v / norm if norm > 0 else v) - centre) @ axes.T

    def frame(self, *, user_id: int, taste: np.ndarray, blocked: np.ndarray, session_step: int,
              patience: int) -> np.ndarray:
        """The current picture as an (H, W, 3) uint8 array."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        coords, _ = self._projection()
        w, h = FRAME_SIZE
        fig = Figure(figsize=(w / 100, h / 100), dpi=100)
        canvas = FigureCanvasAgg(fig)
        ax_map, ax_log = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 0.8]})
        self._draw_map(ax_map, coords, taste, blocked)
        self._draw_log(ax_log)
        fig.suptitle(f"user {user_id} · session step {session_step} · patience {patience}", fontsize=9)
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.08, top=0.86, wspace=0.9)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()

    def _draw_map(self, ax, coords: np.ndarray, taste: np.ndarray, blocked: np.ndarray) -> None:
        n = len(coords)
        bg = coords if n <= MAX_MAP_POINTS else coords[np.random.default_rng(0).choice(n, MAX_MAP_POINTS, replace=False)]
        ax.scatter(bg[:, 0], bg[:, 1], s=2, c="#d9d9d9", linewidths=0)
        if len(blocked):
            b = coords[blocked]
            ax.scatter(b[:, 0], b[:, 1], s=22, marker="x", c="#7f0000", linewidths=1)
        for age, s in enumerate(reversed(self.history)):
            alpha = max(0.25, 1.0 - age / max(len(self.history), 1))
            items = np.asarray(s.items)
            ax.scatter(coords[items, 0], coords[items, 1], s=14, facecolors="none", edgecolors="#636363",
                       linewidths=0.6, alpha=alpha)
            if s.position >= 0:
                p = coords[items[s.position]]
                ax.scatter([p[0]], [p[1]], s=30, c=KIND_COLOURS[s.kind], edgecolors="black", linewidths=0.4,
                           alpha=alpha)
        t = self.place(taste)
        ax.scatter([t[0]], [t[1]], s=140, marker="*", c="gold", edgecolors="black", linewidths=0.6)
        ax.set_title("catalog map (PCA): ★ taste, ● answered, × blocked", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])

    def _draw_log(self, ax) -> None:
        rows = list(reversed(self.history))
        y = np.arange(len(rows))
        ax.barh(y, [s.reward for s in rows], color=[KIND_COLOURS[s.kind] for s in rows], height=0.7)
        ax.set_yticks(y)
        ax.set_yticklabels([_label(s) for s in rows], fontsize=6)
        ax.invert_yaxis()
        ax.axvline(0, color="black", linewidth=0.5)
        ax.set_xlim(-1.1, 1.1)
        ax.tick_params(axis="x", labelsize=6)
        ax.set_title("shown → answer (reward), newest first", fontsize=7)

    def show(self, frame: np.ndarray, fps: int) -> None:
        """``human`` mode: the frame in a pyplot window, or one warning when there is no screen."""
        import matplotlib

        backend = matplotlib.get_backend().lower()
        if backend in _NON_INTERACTIVE or "inline" in backend:
            if not self._warned:
                warnings.warn(f"render_mode='human' has no window to draw in (matplotlib backend {backend!r}); "
                              "nothing is shown. Use render_mode='rgb_array' for frames.", stacklevel=3)
                self._warned = True
            return
        import matplotlib.pyplot as plt

        if self._window is None or not plt.fignum_exists(self._window[0].number):
            fig, ax = plt.subplots(figsize=(FRAME_SIZE[0] / 100, FRAME_SIZE[1] / 100), dpi=100)
            ax.axis("off")
            self._window = (fig, ax.imshow(frame))
            plt.show(block=False)
        else:
            self._window[1].set_data(frame)
        plt.pause(1.0 / max(int(fps), 1))

    def close(self) -> None:
        """Close the ``human`` window, if one was opened."""
        if self._window is not None:
            import matplotlib.pyplot as plt

            plt.close(self._window[0])
            self._window = None


_MAPS: dict[tuple, tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]] = {}


def catalog_map(item_vectors: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(n, 2) PCA coordinates of the items and the (centre, (2, d) axes) that place a vector.

    Cached by content, so the envs of one ``make_vec_env`` share one computation; the axes are
    the top two eigenvectors of the scatter matrix (one BLAS thread: small products), each
    oriented so that its largest-magnitude loading is positive.
    """
    import hashlib

    from scipy.linalg import eigh

    from banditsim._blas_threads import one_blas_thread

    x = np.ascontiguousarray(item_vectors, dtype=np.float64)
    key = (x.shape, hashlib.sha256(x.tobytes()).hexdigest())
    if key not in _MAPS:
        with one_blas_thread():
            centre = x.mean(0)
            xc = x - centre
            d = x.shape[1]
            _, vecs = eigh(xc.T @ xc, subset_by_index=[max(d - 2, 0), d - 1])
            axes = vecs[:, ::-1].T.copy()
            if axes.shape[0] < 2:  # one-dimensional items: the second axis is flat
                axes = np.vstack([axes, np.zeros_like(axes)])
            sign = np.sign(axes[np.arange(2), np.abs(axes).argmax(1)])  # a fixed orientation
            axes *= np.where(sign == 0, 1.0, sign)[:, None]
            coords = xc @ axes.T
        if len(_MAPS) >= 4:
            _MAPS.pop(next(iter(_MAPS)))
        _MAPS[key] = (coords, (centre, axes))
    return _MAPS[key]


def _label(s: Shown) -> str:
    answered = s.items[s.position] if s.position >= 0 else None
    what = f"#{s.items[0]}" if len(s.items) == 1 else f"slate of {len(s.items)}"
    who = "" if answered is None or len(s.items) == 1 else f" @{s.position}:#{answered}"
    return f"t{s.step} {what}{who} → {KINDS[s.kind]} ({s.reward:+.1f})"
