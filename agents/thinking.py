"""Keeping a reasoning model's thinking apart from its argument.

deepseek-r1 and friends either return thinking in `reasoning_content` (when `think` is on) or
inline in `<think>...</think>` blocks. Later debate stages and judges must see only the
argument; the store keeps both.
"""

from __future__ import annotations

import re

from langchain_core.messages import BaseMessage

_THINK_BLOCK = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_STRAY_CLOSE = re.compile(r"^\s*(.*?)</think>", re.DOTALL | re.IGNORECASE)


def split_thinking(text: str) -> tuple[str, str]:
    """Return (argument, thinking) from text that may hold `<think>` blocks.

    An unclosed block (a reply cut by the token limit mid-thought) counts as thinking: the
    argument is then empty rather than a fragment of reasoning shown as an argument.
    """
    thoughts = [m.group(1).strip() for m in _THINK_BLOCK.finditer(text)]
    rest = _THINK_BLOCK.sub("", text)
    stray = _STRAY_CLOSE.match(rest)  # some templates open the block in the prompt
    if stray and "<think>" not in text.lower():
        thoughts.insert(0, stray.group(1).strip())
        rest = rest[stray.end():]
    return rest.strip(), "\n\n".join(t for t in thoughts if t)


def message_text_and_thinking(message: BaseMessage) -> tuple[str, str]:
    """Argument and thinking of a chat reply, from either convention."""
    content = message.content if isinstance(message.content, str) else str(message.content)
    text, inline = split_thinking(content)
    separate = str(message.additional_kwargs.get("reasoning_content") or "").strip()
    thinking = "\n\n".join(t for t in (separate, inline) if t)
    return text, thinking
