"""The local web viewer (`debatelab view`): browse, compare and blind-rate debates."""

from debatelab.view.app import Viewer, create_app
from debatelab.view.rating_queue import blind_view, queue_for, rater_order
from debatelab.view.security import CsrfTokens

__all__ = ["CsrfTokens", "Viewer", "blind_view", "create_app", "queue_for", "rater_order"]
